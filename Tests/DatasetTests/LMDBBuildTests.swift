import Dataset
import Foundation
import TestSupport
import XCTest

/// `LMDBBuilder` against LMDB environments the reference's build_lmdb_dataset.py wrote (Scripts/fixtures/gen_dataset.py):
/// data.mdb must be byte-identical, which also means the reference reads ours.
final class LMDBBuildTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lmdb-build-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testSmallDatasetIsByteIdenticalToReference() throws {
        let dump = try XCTUnwrap(Fixtures.json("dataset/small_dump.json") as? [String: Any])
        let lmdbDirectory = scratch.appendingPathComponent("small_lmdb").path
        var lines: [String] = []
        let builder = LMDBBuilder(dataDirectory: Fixtures.url("dataset/small").path, lmdbDirectory: lmdbDirectory,
                                  report: { lines.append($0) })
        try builder.build(splits: LMDBBuilder.splitNames("test"))
        let stdout = lines.map { $0.replacingOccurrences(of: scratch.path + "/", with: "") + "\n" }.joined()
        XCTAssertEqual(stdout, dump["stdout"] as? String)
        for name in ["imgs", "pairs"] {
            let ours = try Data(contentsOf: URL(fileURLWithPath: "\(lmdbDirectory)/test/\(name)/data.mdb"))
            let reference = try Fixtures.data("dataset/small_lmdb/test/\(name)/data.mdb")
            XCTAssertEqual(ours.count, reference.count, name)
            XCTAssertTrue(ours == reference, "\(name)/data.mdb differs from the reference's")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: lmdbDirectory)
        XCTAssertEqual(leftovers, ["test"], "no staging directory is left behind")
    }

    /// 5200 pairs and 1234 images: several commits in each environment; data.mdb hash and size as the reference's.
    func testCommitCadenceMatchesReference() throws {
        let expected = try XCTUnwrap(Fixtures.json("dataset/cadence.json") as? [String: Any])
        let tiny = try XCTUnwrap(expected["tiny_b64"] as? String)
        var tsv = ""
        for i in 0..<1234 { tsv += "\(100_000 + i)\t\(tiny)\n" }
        var jsonl = ""
        for i in 0..<2600 {
            let ids = [100_000 + (i * 3) % 1234, 100_000 + (i * 5 + 1) % 1234]
            jsonl += "{\"text_id\": \(i), \"text\": \"文本\(i)\", \"image_ids\": [\(ids[0]), \(ids[1])]}\n"
        }
        try tsv.write(to: scratch.appendingPathComponent("train_imgs.tsv"), atomically: true, encoding: .utf8)
        try jsonl.write(to: scratch.appendingPathComponent("train_texts.jsonl"), atomically: true, encoding: .utf8)
        try LMDBBuilder(dataDirectory: scratch.path, report: { _ in }).build(splits: ["train"])
        for name in ["imgs", "pairs"] {
            let reference = try XCTUnwrap(expected[name] as? [String: Any])
            let data = try Data(contentsOf: scratch.appendingPathComponent("lmdb/train/\(name)/data.mdb"))
            XCTAssertEqual(data.count, reference["size"] as? Int, name)
            XCTAssertEqual(fnv1a64(data), reference["fnv1a64"] as? String, name)
        }
        XCTAssertEqual(try LMDBPairsReader(path: scratch.appendingPathComponent("lmdb/train/pairs").path).count, 5200)
    }

    func testRebuildReplacesExistingSplit() throws {
        try copySmallInputs()
        let builder = LMDBBuilder(dataDirectory: scratch.path, report: { _ in })
        try builder.build(splits: ["test"])
        var lines: [String] = []
        try LMDBBuilder(dataDirectory: scratch.path, report: { lines.append($0) }).build(splits: LMDBBuilder.splitNames(" test,test\n"))
        XCTAssertEqual(lines.first, "Dataset splits to be processed: test")
        XCTAssertEqual(lines[1], "We will overwrite an existing LMDB file \(scratch.path)/lmdb/test")
        XCTAssertEqual(try LMDBImagesReader(path: scratch.path + "/lmdb/test/imgs").count, 6)
    }

    private func copySmallInputs() throws {
        for file in ["test_imgs.tsv", "test_texts.jsonl"] {
            try FileManager.default.copyItem(at: Fixtures.url("dataset/small/\(file)"), to: scratch.appendingPathComponent(file))
        }
    }

    private func fnv1a64(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
