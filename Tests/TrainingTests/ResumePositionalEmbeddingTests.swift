import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// Training resume resizes a ViT checkpoint's positional embedding to the run's grid as the reference's main.py does
/// (Scripts/fixtures/gen_posembed.py: grid 5 saved, resumed at grid 7). Tolerance: 1e-6 absolute; log lines exact.
final class ResumePositionalEmbeddingTests: XCTestCase {
    func testResumeResizesToTheRunsGrid() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("posembed/to-grid7.config.json"))
        let model = try CLIPModel(config: config)
        let optimizer = AdamW(entries: model.stateEntries(), learningRate: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6,
                              weightDecay: 0.2)
        let log = try TrainingLog(path: nil, echo: false)
        let path = try Fixtures.url("posembed/vit-grid5.pt").path
        let resumed = try TrainingCheckpoints.resume(from: path, model: model, optimizer: optimizer,
                                                     resetOptimizer: true, log: log)
        XCTAssertEqual(resumed.epoch, 1)
        XCTAssertEqual(resumed.step, 3)
        XCTAssertEqual(log.messages, ["=> begin to load checkpoint '\(path)'",
                                      "Resizing position embedding grid-size from (5, 5) to (7, 7)"])
        guard case let .transformer(tower) = model.visual else { return XCTFail("not a ViT") }
        let expected = try XCTUnwrap(try Fixtures.tensors("posembed/to-grid7.json")["positional_embedding"])
        XCTAssertLessThanOrEqual(maxAbsDifference(tower.positionalEmbedding.toArray(), expected.floats), 1e-6)
    }
}
