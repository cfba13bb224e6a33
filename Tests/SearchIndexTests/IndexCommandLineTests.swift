import Foundation
import SearchIndex
import TestSupport
import XCTest

/// `cnclip index status|search|remove|build-ann` and `add --prune` as a user runs them, each output checked against
/// the library's own view of the index (`ImageIndex`) or an independent computation.
final class IndexCommandLineTests: XCTestCase {
    private struct Run {
        let status: Int32
        let standardOutput: String
        let standardError: String
        var jsonLines: [[String: Any]] {
            standardOutput.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    private let modelFlags = ["--model-config", SearchFixture.configURL.path, "--vision-model", "fashion-vit",
                              "--text-model", "fashion-bert", "--resume", SearchFixture.checkpointURL.path]

    private func cnclip(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try XCTUnwrap(BuiltExecutable.cnclip, "cnclip is not built beside the tests")
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                   standardError: String(decoding: errorData, as: UTF8.self))
    }

    func testStatusSearchRemovePruneAndBuildANN() throws {
        let root = try SearchFixture.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images"), index = root.appendingPathComponent("index")
        let copied = try SearchFixture.copyImages(to: images, perClass: 3)
        let add = try cnclip(["index", "add", "--index", index.path] + modelFlags + [images.path])
        XCTAssertEqual(add.status, 0, add.standardError)

        // status --json: the library's counts, model and size; nothing vanished yet.
        var status = try cnclip(["index", "status", "--index", index.path, "--json"])
        XCTAssertEqual(status.status, 0, status.standardError)
        var object = try XCTUnwrap(status.jsonLines.first)
        var info = try XCTUnwrap(object["info"] as? [String: Any])
        let library = try ImageIndex.open(directory: index, readOnly: true).info
        XCTAssertEqual(info["count"] as? Int, copied.count)
        XCTAssertEqual(info["dimension"] as? Int, library.dimension)
        XCTAssertEqual((info["bytesOnDisk"] as? NSNumber)?.int64Value, library.bytesOnDisk)
        XCTAssertEqual((info["model"] as? [String: Any])?["checkpointHash"] as? String, library.model.checkpointHash)
        XCTAssertEqual((object["vanished"] as? [String])?.count, 0)

        // search --text: the hits the library returns for the same text feature, in order.
        let search = try cnclip(["index", "search", "--index", index.path] + modelFlags
                                + ["--text", "深色的T恤", "--k", "5", "--context-length", String(SearchFixture.contextLength)])
        XCTAssertEqual(search.status, 0, search.standardError)
        let expected = try ImageIndex.open(directory: index, readOnly: true)
            .search(try SearchFixture.textFeature("深色的T恤"), k: 5)
        XCTAssertEqual(search.jsonLines.compactMap { $0["path"] as? String }, expected.map(\.path))

        // A vanished file is reported by status, kept until add --prune drops it.
        try FileManager.default.removeItem(atPath: copied[0])
        status = try cnclip(["index", "status", "--index", index.path, "--json"])
        object = try XCTUnwrap(status.jsonLines.first)
        XCTAssertEqual(object["vanished"] as? [String], [copied[0]])
        let prune = try cnclip(["index", "add", "--index", index.path, "--prune"] + modelFlags + [images.path])
        XCTAssertEqual(prune.status, 0, prune.standardError)
        XCTAssertEqual(try ImageIndex.open(directory: index, readOnly: true).info.count, copied.count - 1)

        // remove a whole class folder: its images leave, the others stay.
        let removedFolder = images.appendingPathComponent(SearchFixture.classes[1]).path
        let remove = try cnclip(["index", "remove", "--index", index.path, removedFolder])
        XCTAssertEqual(remove.status, 0, remove.standardError)
        XCTAssertEqual(remove.jsonLines.first?["removed"] as? Int, 3)
        let remaining = try ImageIndex.open(directory: index, readOnly: true).records().map(\.path)
        XCTAssertEqual(remaining.count, copied.count - 4)
        XCTAssertFalse(remaining.contains { $0.hasPrefix(removedFolder + "/") })
        status = try cnclip(["index", "status", "--index", index.path, "--json"])
        info = try XCTUnwrap(status.jsonLines.first?["info"] as? [String: Any])
        XCTAssertEqual(info["count"] as? Int, copied.count - 4)
        XCTAssertEqual(info["rows"] as? Int, copied.count, "removed rows stay as tombstones")

        // build-ann with a fixed breadth: the JSON report, and status shows it.
        let build = try cnclip(["index", "build-ann", "--index", index.path, "--kind", "ivf", "--breadth", "1000"])
        XCTAssertEqual(build.status, 0, build.standardError)
        let report = try XCTUnwrap(build.jsonLines.first)
        XCTAssertEqual(report["kind"] as? String, "ivf")
        XCTAssertEqual(report["breadth"] as? Int, 1000)
        XCTAssertEqual(report["tuning"] as? String, "breadth 1000")
        XCTAssertEqual(report["recallAt10"] as? Double, 1, "probing every list is exhaustive")
        status = try cnclip(["index", "status", "--index", index.path, "--json"])
        let ann = try XCTUnwrap((status.jsonLines.first?["info"] as? [String: Any])?["ann"] as? [String: Any])
        XCTAssertEqual(ann["kind"] as? String, "ivf")
        XCTAssertEqual(ann["breadth"] as? Int, 1000)
    }

    func testBadInvocationsFailNamingTheProblem() throws {
        let root = try SearchFixture.temporaryDirectory("cli-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images"), index = root.appendingPathComponent("index")
        _ = try SearchFixture.copyImages(to: images, perClass: 1)
        XCTAssertEqual(try cnclip(["index", "add", "--index", index.path] + modelFlags + [images.path]).status, 0)

        let other = try cnclip(["index", "search", "--index", index.path, "--vision-model", "ViT-B-16", "--text-model",
                                "RBT3-chinese", "--resume", SearchFixture.checkpointURL.path, "--text", "裙子"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.standardError.contains("fashion-vit + fashion-bert") && other.standardError.contains("ViT-B-16 + RBT3-chinese"),
                      other.standardError)

        let missing = try cnclip(["index", "status", "--index", root.appendingPathComponent("nowhere").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.standardError.contains("nowhere"), missing.standardError)

        let both = try cnclip(["index", "build-ann", "--index", index.path, "--breadth", "4", "--target-recall", "0.9"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.standardError.contains("--target-recall or --breadth"), both.standardError)
    }
}
