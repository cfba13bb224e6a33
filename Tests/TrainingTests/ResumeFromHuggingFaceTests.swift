import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// `train --resume DIR` with a Hugging Face ChineseCLIP directory: its weights, epoch 0, step 0; the optimizer must
/// be reset since the directory has no optimizer state.
final class ResumeFromHuggingFaceTests: XCTestCase {
    func testResumeLoadsTheDirectoryAtEpochZero() throws {
        let directory = Fixtures.url("hf/tiny-vit")
        let config = try HFModelDirectory.config(at: directory)
        let model = try CLIPModel(config: config)
        let optimizer = AdamW(entries: model.stateEntries(), learningRate: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6,
                              weightDecay: 0.2)
        let log = try TrainingLog(path: nil, echo: false)
        XCTAssertThrowsError(try TrainingCheckpoints.resume(from: directory.path, model: model, optimizer: optimizer,
                                                            resetOptimizer: false, log: log)) {
            XCTAssertTrue("\($0)".contains("--reset-optimizer"), "\($0)")
        }
        let resumed = try TrainingCheckpoints.resume(from: directory.path, model: model, optimizer: optimizer,
                                                     resetOptimizer: true, log: log)
        XCTAssertEqual(resumed.epoch, 0)
        XCTAssertEqual(resumed.step, 0)
        let expected = try CLIPModel.load(config: config, checkpoint: directory).model
        let loaded = Dictionary(uniqueKeysWithValues: model.stateEntries().map { ($0.name, $0.tensor.toArray()) })
        for entry in expected.stateEntries() { XCTAssertEqual(loaded[entry.name], entry.tensor.toArray(), entry.name) }
    }

    /// Finetuning from a directory tokenizes with its own vocab.txt (33 tokens here), not the bundled 21128.
    func testTrainingTokenizesWithTheDirectoryVocabulary() throws {
        let directory = Fixtures.url("hf/tiny-vit")
        let config = try HFModelDirectory.config(at: directory)
        XCTAssertEqual(try Trainer.tokenizer(resume: directory.path, config: config).vocabulary.count, 33)
        XCTAssertEqual(try Trainer.tokenizer(resume: nil, config: config).vocabulary.count, 21128)
        XCTAssertEqual(try Trainer.tokenizer(resume: "/no/such/epoch_latest.pt", config: config).vocabulary.count, 21128)
    }
}
