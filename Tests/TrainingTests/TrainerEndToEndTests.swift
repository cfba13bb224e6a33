import Checkpoint
import Foundation
import Models
import TestSupport
import Training
import XCTest

/// The whole training run on a synthetic LMDB (24 train / 8 valid pairs, tiny ViT + BERT with dropout): log lines
/// in the reference's format with the schedule's learning rates, validation, checkpoints the reference's loader
/// accepts, and resume (explicit and automatic) continuing the epoch, step count and schedule.
final class TrainerEndToEndTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func parameters(_ lmdb: URL, name: String) -> TrainingParameters {
        var parameters = TrainingParameters(trainData: lmdb.appendingPathComponent("train").path)
        parameters.valData = lmdb.appendingPathComponent("valid").path
        parameters.logs = directory.appendingPathComponent("logs").path
        parameters.name = name
        parameters.batchSize = 8
        parameters.validBatchSize = 3   // 8 pairs padded to 9: the last batch wraps to the first samples
        parameters.maxSteps = 6         // 3 steps per epoch, 2 epochs
        parameters.warmup = 2
        parameters.lr = 1e-3
        parameters.logInterval = 1
        parameters.validStepInterval = 4
        parameters.reportTrainingBatchAcc = true
        parameters.visionModel = "ViT-B-16"
        parameters.initSeed = 7
        return parameters
    }

    private func config() throws -> ModelConfig {
        try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
    }

    private func run(_ parameters: TrainingParameters) throws -> (TrainingSummary, [String]) {
        var parameters = parameters
        try parameters.fillOptimizerDefaults()
        let model = try CLIPModel(config: config())
        FromScratchInitializer.initialize(model, seed: 7)
        let log = try TrainingLog(path: nil, echo: false)
        let trainer = try Trainer(parameters: parameters, model: model, log: log, stamp: "stamp", logPath: nil)
        return (try trainer.run(), log.messages)
    }

    func testTrainValidateSaveAndResume() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 24, validCount: 8)
        let (summary, messages) = try run(parameters(lmdb, name: "first"))
        XCTAssertEqual(summary.steps, 6)
        XCTAssertEqual(messages.first, "train LMDB file contains 24 images and 24 pairs.")
        XCTAssertTrue(messages.contains("  max_steps: 6"))
        XCTAssertTrue(messages.contains("  lr: 0.001"))
        let schedule = try CosineSchedule(baseLearningRate: 1e-3, warmupSteps: 2, totalSteps: 6)
        let lines = try trainingLines(messages)
        XCTAssertEqual(lines.map(\.step), Array(1...6))
        for line in lines {
            XCTAssertEqual(line.lr, String(format: "%.6f", schedule.learningRate(step: line.step - 1)))
            XCTAssertTrue(line.loss.isFinite && line.loss > 0)
            XCTAssertEqual(line.progress, "\(((line.step - 1) % 3 + 1) * 8)/24 (\(String(format: "%.0f", Double((line.step - 1) % 3 + 1) * 100 / 3))%)")
        }
        // Step validation after step 4, epoch validation after each epoch; 9 padded samples, last batch 3.
        let validations = messages.filter { $0.hasPrefix("Validation Result") }
        XCTAssertEqual(validations.map { $0.components(separatedBy: " | ")[0] },
                       ["Validation Result (epoch 1 @ 3 steps)", "Validation Result (epoch 2 @ 4 steps)",
                        "Validation Result (epoch 2 @ 6 steps)"])
        XCTAssertTrue(validations.allSatisfy { $0.hasSuffix("| Valid Batch Size: 3") })
        XCTAssertEqual(summary.lastValidation?.samples, 9)

        let params = try String(contentsOf: directory.appendingPathComponent("logs/first/params_stamp.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(params, params.sorted())
        for expected in ["max_steps: 6", "max_epochs: 2", "lr: 0.001", "beta2: 0.98", "eps: 1e-06", "wd: 0.2",
                         "val_data: \(lmdb.path)/valid", "resume: None", "aggregate: True", "world_size: 1"] {
            XCTAssertTrue(params.contains(expected), expected)
        }
        XCTAssertEqual(messages.filter { $0.hasPrefix("  ") }, params.map { "  " + $0 })

        let checkpoints = directory.appendingPathComponent("logs/first/checkpoints")
        let saved = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted()
        XCTAssertEqual(saved, ["epoch1.pt", "epoch2.pt", "epoch_latest.pt"])
        let final = try Checkpoint.load(contentsOf: checkpoints.appendingPathComponent("epoch2.pt"))
        XCTAssertEqual(final.epoch, 2)
        XCTAssertEqual(final.step, 6)
        XCTAssertEqual(final.name, "first")
        XCTAssertTrue(final.stateDict.keys.allSatisfy { $0.hasPrefix("module.") })
        let reloaded = try CLIPModel(config: config())
        XCTAssertNoThrow(try reloaded.load(final.stateDict, rule: .trainingResume))
        let optimizer = try AdamWCheckpointState(pickleValue: XCTUnwrap(final.optimizer), path: "epoch2.pt")
        XCTAssertEqual(optimizer.groups.map(\.lr), [schedule.learningRate(step: 5), schedule.learningRate(step: 5)])
        XCTAssertEqual(optimizer.states.first?.state.step, 6)

        // Resuming from the epoch-1 checkpoint continues at epoch 2, step 3, with the same schedule; with the
        // same data order and dropout seeds it ends at the first run's weights (exact).
        var resumed = parameters(lmdb, name: "second")
        resumed.resume = checkpoints.appendingPathComponent("epoch1.pt").path
        let (second, resumedMessages) = try run(resumed)
        XCTAssertEqual(second.steps, 6)
        XCTAssertTrue(resumedMessages.contains("=> optimizer state is restored from the checkpoint"))
        XCTAssertTrue(resumedMessages.contains("=> loaded checkpoint '\(resumed.resume ?? "")' (epoch 1 @ 3 steps)"))
        let resumedLines = try trainingLines(resumedMessages)
        XCTAssertEqual(resumedLines.map(\.step), [4, 5, 6])
        XCTAssertEqual(resumedLines.map(\.lr), Array(lines.suffix(3)).map(\.lr))
        XCTAssertEqual(resumedLines.map(\.loss), Array(lines.suffix(3)).map(\.loss))
        let secondFinal = try Checkpoint.load(contentsOf: directory.appendingPathComponent("logs/second/checkpoints/epoch2.pt"))
        XCTAssertEqual(secondFinal.stateDict, final.stateDict)

        // Running the first run again resumes its epoch_latest.pt automatically and has nothing left to do.
        let (third, thirdMessages) = try run(parameters(lmdb, name: "first"))
        XCTAssertEqual(third.steps, 6)
        XCTAssertTrue(thirdMessages.contains { $0.hasSuffix("epoch_latest.pt' (epoch 2 @ 6 steps)") })
        XCTAssertTrue(try trainingLines(thirdMessages).isEmpty)
    }

    func testResetDataOffsetAndOptimizerRestartTheSchedule() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 24, validCount: 8)
        var first = parameters(lmdb, name: "short")
        first.maxSteps = 3
        first.valData = nil
        _ = try run(first)
        var again = parameters(lmdb, name: "restart")
        again.valData = nil
        again.resume = directory.appendingPathComponent("logs/short/checkpoints/epoch1.pt").path
        again.resetDataOffset = true
        again.resetOptimizer = true
        let (summary, messages) = try run(again)
        XCTAssertTrue(messages.contains("=> loaded checkpoint '\(again.resume ?? "")' (epoch 1 @ 0 steps)"))
        XCTAssertFalse(messages.contains("=> optimizer state is restored from the checkpoint"))
        XCTAssertEqual(try trainingLines(messages).map(\.step), Array(1...6))
        XCTAssertEqual(summary.steps, 6)
        let missing = directory.appendingPathComponent("nothing.pt").path
        again.resume = missing
        again.name = "missing"
        let (_, missingMessages) = try run(again)
        XCTAssertTrue(missingMessages.contains("=> no checkpoint found at '\(missing)'"))
    }

    func testOptimizerDefaultsFollowTheVisionModel() throws {
        var parameters = TrainingParameters(trainData: "unused")
        parameters.visionModel = "RN50"
        try parameters.fillOptimizerDefaults()
        XCTAssertEqual([parameters.lr, parameters.beta1, parameters.beta2, parameters.eps], [5e-4, 0.9, 0.999, 1e-8])
        parameters = TrainingParameters(trainData: "unused")
        parameters.visionModel = "ViT-L-14-336"
        parameters.lr = 1e-5
        try parameters.fillOptimizerDefaults()
        XCTAssertEqual([parameters.lr, parameters.beta1, parameters.beta2, parameters.eps], [1e-5, 0.9, 0.98, 1e-6])
        parameters.visionModel = "custom"
        parameters.beta1 = nil
        XCTAssertThrowsError(try parameters.fillOptimizerDefaults()) { XCTAssertTrue("\($0)".contains("--beta1")) }
    }

    func testCorruptImageRecordNamesItsKey() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 8, validCount: 2,
                                           corrupt: 1003)
        var parameters = parameters(lmdb, name: "corrupt")
        parameters.valData = nil
        XCTAssertThrowsError(try run(parameters)) { error in
            XCTAssertTrue("\(error)".contains("record \"1003\""), "\(error)")
        }
    }

    func testLogFileLinesHaveTheReferencePrefix() throws {
        let path = directory.appendingPathComponent("logs/out.log").path
        let log = try TrainingLog(path: path, echo: false)
        log.info("Params:")
        log.info("Use CPU (2 threads) for training")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let prefix = try NSRegularExpression(pattern: #"^\d{4}-\d\d-\d\d,\d\d:\d\d:\d\d \| INFO \| Rank 0 \| "#)
        XCTAssertEqual(lines.count, 2)
        for (line, message) in zip(lines, ["Params:", "Use CPU (2 threads) for training"]) {
            XCTAssertNotNil(prefix.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
            XCTAssertTrue(line.hasSuffix(" | " + message))
        }
        XCTAssertEqual(TrainingLog.fileStamp(Date(timeIntervalSince1970: 1_700_000_000)), "2023-11-14-22-13-20")
    }

    private struct TrainingLine { let step: Int; let progress: String; let loss: Double; let lr: String }

    /// The training lines, checked field by field against the reference's format.
    private func trainingLines(_ messages: [String]) throws -> [TrainingLine] {
        let pattern = try NSRegularExpression(pattern:
            #"^Global Steps: (\d+)/6 \| Train Epoch: [12] \[(\d+/24 \(\d+%\))\] \| Loss: (\d+\.\d{6}) \| "#
            + #"Image2Text Acc: \d+\.\d\d \| Text2Image Acc: \d+\.\d\d \| Data Time: \d+\.\d{3}s \| "#
            + #"Batch Time: \d+\.\d{3}s \| LR: (\d\.\d{6}) \| logit_scale: \d\.\d{3} \| Global Batch Size: 8$"#)
        return try messages.filter { $0.hasPrefix("Global Steps") }.map { message in
            let range = NSRange(message.startIndex..., in: message)
            let match = try XCTUnwrap(pattern.firstMatch(in: message, range: range), message)
            func group(_ index: Int) -> String { String(message[Range(match.range(at: index), in: message)!]) }
            return TrainingLine(step: Int(group(1)) ?? -1, progress: group(2), loss: Double(group(3)) ?? .nan, lr: group(4))
        }
    }
}
