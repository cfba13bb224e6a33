import Foundation
import Models
import TestSupport
import Training
import Tensor
import XCTest

/// The trainer with `--accum-freq`, `--mask-ratio` and the pretrained-weight flags on a synthetic LMDB: the
/// reference's step numbering, log fields and stop message under accumulation (REFERENCE §6.6, §6.11), its RN50
/// note for the mask ratio, and the refusals (distillation, missing weight files).
final class TrainerOptionsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainopts-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func run(_ parameters: TrainingParameters, config name: String) throws -> (TrainingSummary, [String]) {
        var parameters = parameters
        try parameters.fillOptimizerDefaults()
        let model = try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("models/\(name).config.json")))
        FromScratchInitializer.initialize(model, seed: 3)
        let log = try TrainingLog(path: nil, echo: false)
        let trainer = try Trainer(parameters: parameters, model: model, log: log, stamp: "stamp", logPath: nil)
        return (try trainer.run(), log.messages)
    }

    private func parameters(trainCount: Int) throws -> TrainingParameters {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: trainCount,
                                           validCount: 2)
        var parameters = TrainingParameters(trainData: lmdb.appendingPathComponent("train").path)
        parameters.logs = "none"
        parameters.batchSize = 4
        parameters.warmup = 1
        parameters.logInterval = 1
        parameters.initSeed = 3
        return parameters
    }

    /// 24 pairs in micro-batches of 4 at accum-freq 2: 6 batches, 3 steps per epoch; --max-steps 2 gives one epoch
    /// (ceil(2·2/6)) that stops at step 2 with the reference's `max_steps // accum` in the message.
    func testAccumulatedMaskedRunCountsStepsAsTheReference() throws {
        var parameters = try parameters(trainCount: 24)
        parameters.accumFreq = 2
        parameters.maxSteps = 2
        parameters.maskRatio = 0.5
        let (summary, messages) = try run(parameters, config: "tiny-vit-bert2")
        XCTAssertEqual(summary.steps, 2)
        XCTAssertEqual(summary.epochs, 1)
        for expected in ["  accum_freq: 2", "  max_steps: 2", "  max_epochs: 1", "  mask_ratio: 0.5",
                         "Stopping training due to step 2 has reached max_steps 1"] {
            XCTAssertTrue(messages.contains(expected), expected)
        }
        let lines = messages.filter { $0.hasPrefix("Global Steps") }
        XCTAssertEqual(lines.count, 2)
        for (line, prefix) in zip(lines, ["Global Steps: 1/2 | Train Epoch: 1 [8/24 (33%)] | Loss: ",
                                          "Global Steps: 2/2 | Train Epoch: 1 [16/24 (67%)] | Loss: "]) {
            XCTAssertTrue(line.hasPrefix(prefix), line)
            XCTAssertTrue(line.hasSuffix(" | Global Batch Size: 8"), line)
        }
        XCTAssertFalse(messages.contains { $0.hasPrefix("Note: mask_ratio") })
    }

    func testResNetLogsTheMaskRatioNoteAndTrains() throws {
        var parameters = try parameters(trainCount: 8)
        parameters.visionModel = "RN50"
        parameters.maskRatio = 0.5
        parameters.maxSteps = 1
        let (summary, messages) = try run(parameters, config: "tiny-rn-bert1")
        XCTAssertEqual(summary.steps, 1)
        let note = "Note: mask_ratio > 0 (FLIP strategy) is currently only implemented for VisualTransformer. "
            + "It will not function for ResNet backbone."
        XCTAssertEqual(messages.firstIndex(of: note), messages.firstIndex(of: Trainer.deviceLine(threads: Parallel.threadCount)).map { $0 + 1 })
    }

    func testRefusals() throws {
        var parameters = TrainingParameters(trainData: "unused")
        parameters.distillation = true
        XCTAssertThrowsError(try Trainer.checkSupported(parameters)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--distillation: not supported: its teacher models are ModelScope downloads"),
                          "\(error)")
        }
        parameters.distillation = false
        parameters.accumFreq = 0
        XCTAssertThrowsError(try Trainer.checkSupported(parameters)) { XCTAssertTrue("\($0)".hasPrefix("--accum-freq")) }
        parameters.accumFreq = 1
        parameters.logs = "none"
        parameters.clipWeightPath = "/nonexistent/clip.pt"
        try parameters.fillOptimizerDefaults()
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        XCTAssertThrowsError(try TrainingRun.start(parameters: parameters, config: config, echo: false)) { error in
            XCTAssertEqual(error as? TrainerError,
                           .unusableWeights(flag: "--clip-weight-path", path: "/nonexistent/clip.pt", reason: "no such file"))
        }
    }
}
