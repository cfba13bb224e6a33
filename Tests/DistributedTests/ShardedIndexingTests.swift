import Foundation
import SearchIndex
import TestSupport
import XCTest

/// `mpirun -np 2 cnclip index add` against one process, on the demo-trained search fixture model: a new folder gives
/// the same records and the same feature bytes; a later run over changed files (a new image, a corrupt one, a file
/// whose bytes changed, one only re-stamped) reports and records the same; LMDB and TSV sources agree too.
final class ShardedIndexingTests: ScratchDirectoryTestCase {
    private let modelFlags = ["--model-config", Fixtures.url("search/fashion-clip.config.json").path,
                              "--vision-model", "fashion-vit", "--text-model", "fashion-bert",
                              "--resume", Fixtures.url("search/fashion-clip.safetensors").path]


    /// Runs `index add` on `index` (one process, or 2 ranks) and returns its JSON summary.
    private func add(_ index: String, ranks: Int?, _ sources: [String], batch: Int = 4) throws -> [String: Any] {
        let result = try Launcher.run(["index", "add", "--index", directory.appendingPathComponent(index).path,
                                       "--batch-size", String(batch)] + modelFlags + sources, ranks: ranks, timeout: 240)
        try Launcher.requireSuccess(result, "index add (\(ranks ?? 1) ranks)")
        let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 1, "only rank 0 prints the summary:\n\(result.stdout)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.first).utf8)) as? [String: Any])
    }

    /// The two indexes hold the same records (all but the time they were added) in the same rows, and features that
    /// agree within `tolerance` (exactly, for 0).
    private func assertSameIndex(_ a: String, _ b: String, tolerance: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let one = try ImageIndex.open(directory: directory.appendingPathComponent(a), readOnly: true)
        let two = try ImageIndex.open(directory: directory.appendingPathComponent(b), readOnly: true)
        func key(_ r: ImageRecord) -> String { "\(r.id) \(r.row) \(r.path) \(r.size) \(r.mtimeNanoseconds) \(r.contentHash) \(r.width)×\(r.height)" }
        let records = try one.records().sorted { $0.id < $1.id }
        XCTAssertGreaterThan(records.count, 0, file: file, line: line)
        XCTAssertEqual(records.map(key), try two.records().sorted { $0.id < $1.id }.map(key), file: file, line: line)
        XCTAssertEqual(one.info.rows, two.info.rows, file: file, line: line)
        for record in records {
            let x = try XCTUnwrap(one.feature(id: record.id)), y = try XCTUnwrap(two.feature(id: record.id))
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, tolerance, "\(record.path)", file: file, line: line)
        }
    }

    private func counts(_ summary: [String: Any]) -> [Int] {
        ["found", "embedded", "unchanged", "touched", "pruned"].map { summary[$0] as? Int ?? -1 }
            + [(summary["failed"] as? [Any])?.count ?? -1]
    }

    func testTwoRanksIndexAFolderAsOneProcessDoes() throws {
        let images = directory.appendingPathComponent("images")
        let source = Fixtures.url("search/images")
        var files: [URL] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: source.path).sorted() {
            let target = images.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: source.appendingPathComponent(folder).path).sorted().prefix(2) {
                try FileManager.default.copyItem(at: source.appendingPathComponent(folder).appendingPathComponent(name),
                                                 to: target.appendingPathComponent(name))
                files.append(target.appendingPathComponent(name))
            }
        }
        // 20 new images, chunks of 4 on 2 ranks: 3 rounds, the last one short. Same batches as one process.
        let first = (try add("one", ranks: nil, [images.path]), try add("two", ranks: 2, [images.path]))
        XCTAssertEqual(counts(first.0), [20, 20, 0, 0, 0, 0])
        XCTAssertEqual(counts(first.1), counts(first.0))
        XCTAssertNil(first.0["shares"])
        XCTAssertEqual(first.1["shares"] as? [Int], [12, 8], "chunks 0, 2 and 4 on rank 0; 1 and 3 on rank 1")
        try assertSameIndex("one", "two", tolerance: 0)

        // A new image, a corrupt one, changed bytes, and a file only re-stamped (same bytes, new mtime).
        try FileManager.default.copyItem(at: files[0], to: images.appendingPathComponent("copy.png"))
        try Data("not an image".utf8).write(to: images.appendingPathComponent("broken.jpg"))
        try FileManager.default.removeItem(at: files[3])
        try FileManager.default.copyItem(at: files[4], to: files[3])
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: files[7].path)
        let second = (try add("one", ranks: nil, [images.path]), try add("two", ranks: 2, [images.path]))
        XCTAssertEqual(counts(second.0), [22, 2, 18, 1, 0, 1])
        XCTAssertEqual(counts(second.1), counts(second.0))
        XCTAssertEqual(second.1["shares"] as? [Int], [4, 0], "the 4 files whose stamps changed: one chunk, rank 0's")
        let failure = try XCTUnwrap((second.1["failed"] as? [[String: Any]])?.first)
        XCTAssertEqual(failure["path"] as? String, images.appendingPathComponent("broken.jpg").path)
        XCTAssertTrue((failure["reason"] as? String ?? "").hasSuffix("(on rank 0 of 2, \(ProcessInfo.processInfo.hostName))"), "\(failure)")
        // The new and changed images form other batches here than in one process: equal within rounding.
        try assertSameIndex("one", "two", tolerance: 1e-5)
    }

    /// kill -9 of rank 1 mid-run ends the job naming the rank; every round rank 0 committed stays, and a second
    /// 2-rank run completes the index to exactly what one uninterrupted process writes.
    func testKilledRankEndsTheJobAndARerunCompletesTheIndex() throws {
        let images = directory.appendingPathComponent("images")
        let source = Fixtures.url("search/images")
        for copy in 0..<4 {
            try FileManager.default.copyItem(at: source, to: images.appendingPathComponent("copy\(copy)"))
        }
        let total = 4 * (try FileManager.default.subpathsOfDirectory(atPath: source.path).filter { $0.hasSuffix(".png") }.count)
        let interrupted = directory.appendingPathComponent("interrupted")
        func committed() -> Int { (try? ImageIndex.open(directory: interrupted, readOnly: true).info.count) ?? 0 }
        let arguments = ["index", "add", "--index", interrupted.path, "--batch-size", "1"] + modelFlags + [images.path]
        var seen = 0, killed: Int32 = 0
        let started = Date()
        let result = try Launcher.execute(["timeout", "-k", "5", "120"] + Launcher.mpirun(ranks: 2) + [Launcher.cnclip.path]
                                          + arguments) { _ in
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline {
                seen = committed()
                if seen >= 20, let pid = Launcher.rankProcess(1) {
                    kill(pid, SIGKILL)
                    killed = pid
                    return
                }
                usleep(2_000)
            }
        }
        XCTAssertNotEqual(killed, 0, "rank 1 was never killed (\(seen) rows seen)")
        XCTAssertFalse(result.timedOut, "the job hung after rank 1 was killed")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 110)
        XCTAssertTrue(result.stderr.contains("rank 1") && result.stderr.contains("signal 9"), String(result.stderr.suffix(3000)))
        let afterKill = committed()
        XCTAssertGreaterThanOrEqual(afterKill, seen, "rounds committed before the kill are kept")
        XCTAssertLessThan(afterKill, total, "killed mid-run")

        let resumed = try add("interrupted", ranks: 2, [images.path], batch: 1)
        XCTAssertEqual(resumed["unchanged"] as? Int, afterKill)
        XCTAssertEqual(resumed["embedded"] as? Int, total - afterKill)
        _ = try add("whole", ranks: nil, [images.path], batch: 1)
        // Both sides embedded one image per batch, so the features are the same bytes (ids and rows may differ:
        // the resumed run took the remaining images in its own order).
        let a = try ImageIndex.open(directory: interrupted, readOnly: true)
        let b = try ImageIndex.open(directory: directory.appendingPathComponent("whole"), readOnly: true)
        XCTAssertEqual(a.info.count, total)
        XCTAssertEqual(a.info.rows, total, "no duplicate rows")
        let byPath = Dictionary(uniqueKeysWithValues: try b.records().map { ($0.path, $0) })
        for record in try a.records() {
            let other = try XCTUnwrap(byPath[record.path])
            XCTAssertEqual(record.contentHash, other.contentHash)
            XCTAssertEqual(a.feature(id: record.id), b.feature(id: other.id), record.path)
        }
    }

    func testTwoRanksIndexLMDBAndTSVSourcesAsOneProcessDoes() throws {
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let tsv = data.appendingPathComponent("train_imgs.tsv")
        try FileManager.default.copyItem(at: Fixtures.url("mainpy/train_imgs.tsv"), to: tsv)
        try FileManager.default.copyItem(at: Fixtures.url("mainpy/train_texts.jsonl"), to: data.appendingPathComponent("train_texts.jsonl"))
        try Launcher.requireSuccess(try Launcher.run(["build-lmdb", "--data_dir", data.path, "--splits", "train"]), "build-lmdb")
        let lmdb = data.appendingPathComponent("lmdb/train/imgs").path
        for (name, source) in [("lmdb", ["--lmdb", lmdb]), ("tsv", ["--tsv", tsv.path])] {
            let one = try add("\(name)-one", ranks: nil, source), two = try add("\(name)-two", ranks: 2, source)
            XCTAssertEqual(counts(one), [32, 32, 0, 0, 0, 0], name)
            XCTAssertEqual(counts(two), counts(one), name)
            try assertSameIndex("\(name)-one", "\(name)-two", tolerance: 0)
            // A second run over unchanged dataset images embeds nothing, on either side.
            XCTAssertEqual(counts(try add("\(name)-two", ranks: 2, source)), [32, 0, 32, 0, 0, 0], name)
        }
    }
}
