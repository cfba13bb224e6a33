import Checkpoint
import Foundation
import Tensor
import TestSupport
import XCTest

/// `mpirun -np 2 cnclip train` on a synthetic LMDB (16 train / 8 valid pairs, tiny ViT + BERT without dropout,
/// `--gather-with-grad`): equal to one process at twice the batch, checkpoints that resume on another world size,
/// rank-0-only outputs, and a failing or killed rank ending the whole job with a message naming it.
final class DistributedTrainingTests: ScratchDirectoryTestCase {

    override func setUpWithError() throws {
        try super.setUpWithError()
        // The tiny ViT + BERT of the training fixtures (no dropout, so ranks and one process compute alike) with
        // the real vocabulary's size, for captions tokenised with the bundled vocab.txt.
        var config = try XCTUnwrap(try Fixtures.json("training/train-vit-bert2.config.json") as? [String: Any])
        config["vocab_size"] = 21128
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
    }

    private func arguments(_ lmdb: URL, name: String, batch: Int, extra: [String] = []) -> [String] {
        ["train", "--train-data", lmdb.appendingPathComponent("train").path,
         "--val-data", lmdb.appendingPathComponent("valid").path, "--logs", directory.appendingPathComponent("logs").path,
         "--name", name, "--batch-size", String(batch), "--valid-batch-size", "4",
         "--max-steps", "4", "--warmup", "2", "--lr", "1e-3", "--log-interval", "1", "--gather-with-grad",
         "--vision-model", "ViT-B-16", "--model-config", directory.appendingPathComponent("config.json").path,
         "--context-length", "16", "--init-seed", "7"] + extra
    }

    private func checkpoint(_ name: String, _ file: String) throws -> StateDict {
        try Checkpoint.load(contentsOf: directory.appendingPathComponent("logs/\(name)/checkpoints/\(file)")).stateDict
    }

    private func assertClose(_ a: StateDict, _ b: StateDict, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(Set(a.keys), Set(b.keys), what, file: file, line: line)
        for key in b.keys.sorted() where !key.hasSuffix("num_batches_tracked") {
            let error = relativeDifference(key, try XCTUnwrap(a[key]).floatValues(), try XCTUnwrap(b[key]).floatValues())
            XCTAssertLessThanOrEqual(error, 1e-5, "\(what): \(key) differs by \(error)", file: file, line: line)
        }
    }

    func testTwoRanksMatchOneProcessAndResumeAcrossWorldSizes() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 16, validCount: 8, varied: true)
        // 2 ranks × 4 and 1 process × 8: 2 steps an epoch, 2 epochs, validation over the same 8 pairs.
        let two = try Launcher.run(arguments(lmdb, name: "two", batch: 4), ranks: 2, timeout: 240)
        try Launcher.requireSuccess(two, "2-rank train")
        let one = try Launcher.run(arguments(lmdb, name: "one", batch: 8), timeout: 240)
        try Launcher.requireSuccess(one, "1-process train")
        try assertClose(try checkpoint("two", "epoch2.pt"), try checkpoint("one", "epoch2.pt"), "2 ranks vs 1 process")
        let twoSummary = try summary(two.stdout), oneSummary = try summary(one.stdout)
        XCTAssertEqual(twoSummary["steps"] as? Int, 4)
        // Validation runs on every rank's local batches (rows grouped differently from one process's, so the loss
        // differs by design) and rank 0 reports the totals summed over both ranks.
        XCTAssertNotNil(twoSummary["valid_loss"] as? Double)
        XCTAssertNotNil(oneSummary["valid_loss"] as? Double)
        XCTAssertEqual(two.stderr.components(separatedBy: "Validation Result (epoch 2 @ 4 steps)").count, 2, two.stderr)
        XCTAssertEqual(two.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.count, 1, "only rank 0 prints the summary")

        // Rank 0 alone writes: one log file, one params file saying world_size 2; the log counts both ranks.
        let runDirectory = directory.appendingPathComponent("logs/two")
        let files = try FileManager.default.contentsOfDirectory(atPath: runDirectory.path)
        XCTAssertEqual(files.filter { $0.hasPrefix("out_") }.count, 1, "\(files)")
        let paramsName = try XCTUnwrap(files.first { $0.hasPrefix("params_") })
        let params = try String(contentsOf: runDirectory.appendingPathComponent(paramsName), encoding: .utf8)
        XCTAssertTrue(params.contains("world_size: 2\n") && params.contains("rank: 0\n"), params)
        XCTAssertTrue(two.stderr.contains("| Global Batch Size: 8"), two.stderr)
        XCTAssertTrue(two.stderr.contains("Train Epoch: 1 [8/16 (50%)]"), two.stderr)
        XCTAssertFalse(two.stderr.contains("| Rank 1 |"))

        // The 2-rank epoch-1 checkpoint continues on one process, and the 1-process one on two ranks.
        let resumedOnOne = try Launcher.run(arguments(lmdb, name: "two-on-one", batch: 8, extra: [
            "--resume", directory.appendingPathComponent("logs/two/checkpoints/epoch1.pt").path]), timeout: 240)
        try Launcher.requireSuccess(resumedOnOne, "resume on 1 process")
        XCTAssertTrue(resumedOnOne.stderr.contains("(epoch 1 @ 2 steps)"), resumedOnOne.stderr)
        try assertClose(try checkpoint("two-on-one", "epoch2.pt"), try checkpoint("one", "epoch2.pt"), "2-rank checkpoint resumed on 1")
        let resumedOnTwo = try Launcher.run(arguments(lmdb, name: "one-on-two", batch: 4, extra: [
            "--resume", directory.appendingPathComponent("logs/one/checkpoints/epoch1.pt").path]), ranks: 2, timeout: 240)
        try Launcher.requireSuccess(resumedOnTwo, "resume on 2 ranks")
        try assertClose(try checkpoint("one-on-two", "epoch2.pt"), try checkpoint("two", "epoch2.pt"), "1-process checkpoint resumed on 2")
    }

    func testBadImageOnOneRankEndsTheJobNamingTheRank() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 16, validCount: 8,
                                           corrupt: 1005, varied: true)
        let started = Date()
        let result = try Launcher.run(arguments(lmdb, name: "bad", batch: 4, extra: ["--max-steps", "40"]), ranks: 2,
                                      timeout: 120)
        XCTAssertFalse(result.timedOut, "the job hung: \(result.stderr.suffix(3000))")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 100)
        let pattern = try NSRegularExpression(pattern: #"cnclip: rank [01] of 2 on [^:]+: error: .*record "1005""#)
        XCTAssertNotNil(pattern.firstMatch(in: result.stderr, range: NSRange(result.stderr.startIndex..., in: result.stderr)),
                        result.stderr.suffix(3000).description)
    }

    func testKilledRankEndsTheJobAndLeavesTheCheckpointIntact() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 16, validCount: 8, varied: true)
        let log = directory.appendingPathComponent("logs/killed")
        var killed: Int32 = 0
        let started = Date()
        let result = try Launcher.execute(["timeout", "-k", "5", "120"] + Launcher.mpirun(ranks: 2) + [Launcher.cnclip.path]
                                          + arguments(lmdb, name: "killed", batch: 4,
                                                      extra: ["--max-steps", "400", "--save-step-frequency", "2"])) { _ in
            // Once the first step checkpoint exists, kill -9 rank 1 (found by its MPI rank variable).
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline {
                if FileManager.default.fileExists(atPath: log.appendingPathComponent("checkpoints/epoch_1_2.pt").path),
                   let pid = Launcher.rankProcess(1) {
                    kill(pid, SIGKILL)
                    killed = pid
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        XCTAssertNotEqual(killed, 0, "rank 1 never appeared")
        XCTAssertFalse(result.timedOut, "the job hung after rank 1 was killed")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 110)
        XCTAssertTrue(result.stderr.contains("rank 1") && result.stderr.contains("signal 9"), result.stderr.suffix(3000).description)
        // The last checkpoint written is whole: it loads.
        let latest = try Checkpoint.load(contentsOf: log.appendingPathComponent("checkpoints/epoch_latest.pt"))
        XCTAssertGreaterThanOrEqual(latest.step ?? 0, 2)
    }

    func testWorldSizeWithoutMPIRunIsRefused() throws {
        let logs = ["--logs", directory.appendingPathComponent("logs").path]
        let result = try Launcher.run(["train", "--train-data", "/nonexistent"] + logs, environment: ["WORLD_SIZE": "2"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("WORLD_SIZE=2") && result.stderr.contains("mpirun"), result.stderr)
        let mismatch = try Launcher.run(["train", "--train-data", "/nonexistent"] + logs, ranks: 2, timeout: 60,
                                        environment: ["RANK": "0"])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertFalse(mismatch.timedOut)
        XCTAssertTrue(mismatch.stderr.contains("RANK=0 is set but MPI says 1"), mismatch.stderr)
    }

    func testRanksWithDifferentFlagsAreRefusedNamingTheRank() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 16, validCount: 8, varied: true)
        // MPMD launch: rank 1 runs the same command with another learning rate.
        let options = Launcher.mpirun(ranks: 1).filter { $0 != "-np" && $0 != "1" }
        let result = try Launcher.execute(["timeout", "-k", "5", "120"] + options
            + ["-np", "1", Launcher.cnclip.path] + arguments(lmdb, name: "flags", batch: 4)
            + [":", "-np", "1", Launcher.cnclip.path] + arguments(lmdb, name: "flags", batch: 4, extra: ["--lr", "2e-3"]))
        XCTAssertFalse(result.timedOut)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("rank 1 differs from rank 0: its training flags or model config"),
                      result.stderr.suffix(3000).description)
    }

    func testRanksLoadingDifferentWeightsAreRefusedNamingTheRank() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 16, validCount: 8, varied: true)
        // The same relative --clip-weight-path, resolved in two working directories holding different files.
        let original = try Checkpoint.load(contentsOf: Fixtures.url("trainopts/weights.clip.pt"))
        let changed = try original.stateDict.mapTensors { name, tensor in
            name == "logit_scale" ? try StoredTensor(Tensor(shape: [], data: [2.5])) : tensor
        }
        for (rank, weights) in [(0, original), (1, Checkpoint(layout: .bareStateDict, stateDict: changed))] {
            let folder = directory.appendingPathComponent("rank\(rank)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try weights.write(to: folder.appendingPathComponent("clip.pt"))
        }
        let options = Launcher.mpirun(ranks: 1).filter { $0 != "-np" && $0 != "1" }
        let command = arguments(lmdb, name: "weights", batch: 4, extra: ["--clip-weight-path", "clip.pt"])
        let result = try Launcher.execute(["timeout", "-k", "5", "120"] + options
            + ["-np", "1", "-wdir", directory.appendingPathComponent("rank0").path, Launcher.cnclip.path] + command
            + [":", "-np", "1", "-wdir", directory.appendingPathComponent("rank1").path, Launcher.cnclip.path] + command)
        XCTAssertFalse(result.timedOut)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("rank 1 differs from rank 0: its model weights"), result.stderr.suffix(3000).description)
    }


    private func summary(_ stdout: String) throws -> [String: Any] {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last { $0.hasPrefix("{") })
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}
