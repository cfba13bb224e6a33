import Foundation
import SearchIndex
import TestSupport
import XCTest

/// `cnclip index add` as a child process: killed with SIGKILL mid-run then resumed, and `--strict`.
final class KillAndResumeTests: XCTestCase {
    /// The `cnclip` built beside this test bundle.
    private func cnclip() throws -> URL {
        try XCTUnwrap(BuiltExecutable.cnclip, "cnclip is not built beside the tests")
    }

    private func arguments(index: URL, images: URL, extra: [String] = []) -> [String] {
        ["index", "add", "--index", index.path, "--model-config", SearchFixture.configURL.path, "--vision-model", "fashion-vit",
         "--text-model", "fashion-bert", "--resume", SearchFixture.checkpointURL.path] + extra + [images.path]
    }

    private func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try cnclip()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Rows the database has committed, read as a concurrent reader would.
    private func committedCount(_ index: URL) -> Int {
        (try? ImageIndex.open(directory: index, readOnly: true).info.count) ?? 0
    }

    func testKilledRunLosesNothingCommittedAndResumes() throws {
        let root = try SearchFixture.temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images")
        // Four copies of the fixture images under different names: enough one-image commits to kill mid-run.
        var total = 0
        for copy in 0..<4 { total += try SearchFixture.copyImages(to: images.appendingPathComponent("copy\(copy)")).count }
        let interrupted = root.appendingPathComponent("interrupted"), reference = root.appendingPathComponent("reference")

        let child = try start(arguments(index: interrupted, images: images, extra: ["--batch-size", "1"]))
        let deadline = Date().addingTimeInterval(120)
        var seen = 0
        while child.isRunning && Date() < deadline {
            seen = committedCount(interrupted)
            if seen >= 20 { break }
            usleep(2_000)
        }
        guard child.isRunning else { throw XCTSkip("the indexer finished before it could be killed (\(seen) rows seen)") }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        let afterKill = committedCount(interrupted)
        XCTAssertGreaterThanOrEqual(afterKill, seen, "rows committed before the kill are kept")
        XCTAssertLessThan(afterKill, total, "killed mid-run")

        // Resume, and build the same index without interruption.
        let resumed = try start(arguments(index: interrupted, images: images, extra: ["--batch-size", "1"]))
        resumed.waitUntilExit()
        XCTAssertEqual(resumed.terminationStatus, 0)
        let whole = try start(arguments(index: reference, images: images, extra: ["--batch-size", "1"]))
        whole.waitUntilExit()
        XCTAssertEqual(whole.terminationStatus, 0)

        let a = try ImageIndex.open(directory: interrupted, readOnly: true), b = try ImageIndex.open(directory: reference, readOnly: true)
        XCTAssertEqual(a.info.count, total)
        XCTAssertEqual(a.info.rows, total, "no duplicate rows: uncommitted rows of the killed run were cut")
        let recordsA = try a.records(), recordsB = try b.records()
        XCTAssertEqual(Set(recordsA.map(\.path)).count, total)
        XCTAssertEqual(Set(recordsA.map(\.path)), Set(recordsB.map(\.path)))
        let byPath = Dictionary(uniqueKeysWithValues: recordsB.map { ($0.path, $0) })
        for record in recordsA {
            let other = try XCTUnwrap(byPath[record.path])
            XCTAssertEqual(record.contentHash, other.contentHash)
            XCTAssertEqual(a.feature(id: record.id), b.feature(id: other.id), record.path)
        }
    }

    func testStrictFailsOnACorruptImage() throws {
        let root = try SearchFixture.temporaryDirectory("strict")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images")
        _ = try SearchFixture.copyImages(to: images, perClass: 1)
        try Data("not an image".utf8).write(to: images.appendingPathComponent("broken.jpg"))
        let lenient = try start(arguments(index: root.appendingPathComponent("a"), images: images))
        lenient.waitUntilExit()
        XCTAssertEqual(lenient.terminationStatus, 0)
        let strict = try start(arguments(index: root.appendingPathComponent("b"), images: images, extra: ["--strict"]))
        strict.waitUntilExit()
        XCTAssertNotEqual(strict.terminationStatus, 0)
        // The good images are still indexed under --strict.
        XCTAssertEqual(committedCount(root.appendingPathComponent("b")), SearchFixture.classes.count)
    }
}
