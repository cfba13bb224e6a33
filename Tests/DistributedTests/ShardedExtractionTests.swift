import Foundation
import TestSupport
import XCTest

/// `mpirun -np 2 cnclip extract-features` writes the single process's text and image feature files byte for byte
/// (batches shared out over the ranks, gathered in order by rank 0), with batch counts that leave one rank
/// without a batch in the last round; a bad image on one rank ends the job naming that rank.
final class ShardedExtractionTests: ScratchDirectoryTestCase {


    private func arguments(_ data: URL, lmdb: URL, output: String) -> [String] {
        ["extract-features", "--extract-image-feats", "--extract-text-feats",
         "--image-data", lmdb.appendingPathComponent("train/imgs").path,
         "--text-data", data.appendingPathComponent("train_texts.jsonl").path,
         "--image-feat-output-path", directory.appendingPathComponent("\(output).img.jsonl").path,
         "--text-feat-output-path", directory.appendingPathComponent("\(output).txt.jsonl").path,
         "--img-batch-size", "3", "--text-batch-size", "4", "--vision-model", "ViT-B-16",
         "--model-config", Fixtures.url("models/tiny-vit-bert2.config.json").path,
         "--resume", Fixtures.url("models/tiny-vit-bert2.fp32.pt").path]
    }

    func testTwoRanksWriteTheSingleProcessFiles() throws {
        let data = directory.appendingPathComponent("data")
        // 13 images in batches of 3 = 5 batches (rank 0 takes 3, rank 1 two); 13 texts in batches of 4 = 4 batches.
        let lmdb = try SyntheticLMDB.build(in: data, trainCount: 13, validCount: 1, varied: true)
        let one = try Launcher.run(arguments(data, lmdb: lmdb, output: "one"), timeout: 120)
        try Launcher.requireSuccess(one, "1-process extraction")
        let two = try Launcher.run(arguments(data, lmdb: lmdb, output: "two"), ranks: 2, timeout: 120)
        try Launcher.requireSuccess(two, "2-rank extraction")
        for kind in ["img", "txt"] {
            let a = try Data(contentsOf: directory.appendingPathComponent("one.\(kind).jsonl"))
            let b = try Data(contentsOf: directory.appendingPathComponent("two.\(kind).jsonl"))
            XCTAssertEqual(a.split(separator: 10).count, 13)
            XCTAssertEqual(a, b, "\(kind) features differ between 1 process and 2 ranks")
        }
        XCTAssertEqual(one.stdout, two.stdout.replacingOccurrences(of: "two.", with: "one."), "rank 0 prints the same lines")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testBadImageOnOneRankEndsTheJob() throws {
        let data = directory.appendingPathComponent("data")
        // Image 1004 is the fifth key: batch 1 (of 3), which rank 1 decodes.
        let lmdb = try SyntheticLMDB.build(in: data, trainCount: 13, validCount: 1, corrupt: 1004, varied: true)
        let result = try Launcher.run(arguments(data, lmdb: lmdb, output: "bad"), ranks: 2, timeout: 120)
        XCTAssertFalse(result.timedOut, "the job hung")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("cnclip: rank 1 of 2 on ") && result.stderr.contains("1004"),
                      result.stderr.suffix(3000).description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("bad.img.jsonl").path))
    }
}
