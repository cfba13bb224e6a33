import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// `--accum-freq`: two optimizer steps of 2 micro-batches × 4 on the tiny ViT+BERT model against the reference's own
/// `train()` with accum_freq 2 (gen_trainopts.py), and the identity with one batch of 8 that accumulation exists for.
/// Tolerances: losses 1e-5 relative, learning rates 1e-12, first-step gradients and every tensor after two steps
/// ‖Δ‖/‖ref‖ ≤ 1e-5 (attention key biases, whose gradient is rounding noise, as in TrainingParityTests).
final class GradientAccumulationTests: XCTestCase {
    private let tolerance = 1e-5

    func testTwoAccumulatedStepsMatchTheReference() throws {
        let (fixture, step) = try TrainOptionsFixture.training()
        let batch = try TrainOptionsFixture.stateDict("accum.batch.pt")
        let expected = try TrainOptionsFixture.stateDict("accum.pt")
        let images = try XCTUnwrap(batch["images"]).tensor()
        let tokens = try TrainOptionsFixture.tokens(XCTUnwrap(batch["ids"]))
        let losses = try XCTUnwrap(expected["loss"]).floatValues(), rates = try XCTUnwrap(expected["lr"]).floatValues()
        var worstGradient = 0.0
        for stepIndex in 0..<2 {
            for micro in 0..<2 {
                let rows = (stepIndex * 2 + micro) * 4..<(stepIndex * 2 + micro + 1) * 4
                try step.cacheMicroBatch(images: TrainOptionsFixture.rows(images, rows), tokens: Array(tokens[rows]),
                                         dropoutSeed: 0)
            }
            XCTAssertEqual(step.cachedMicroBatches, 2)
            let result = try step.runAccumulated(step: stepIndex)
            XCTAssertEqual(step.cachedMicroBatches, 0)
            XCTAssertEqual(result.loss, losses[stepIndex], accuracy: 1e-5 * abs(losses[stepIndex]), "loss \(stepIndex)")
            XCTAssertEqual(Float(result.learningRate), rates[stepIndex], accuracy: 1e-12, "lr \(stepIndex)")
            if stepIndex == 0 {
                worstGradient = try TrainOptionsFixture.compareGradients(step, model: fixture.model, expected: expected,
                                                                         tolerance: tolerance, label: "accum step 1")
            }
        }
        var worstTensor = 0.0
        for entry in fixture.model.stateEntries() {
            let reference = try XCTUnwrap(expected["final." + entry.name], entry.name).floatValues()
            let ours = entry.tensor.toArray()
            for range in TrainOptionsFixture.comparableRange(entry.name, count: reference.count) {
                let error = relativeError(Array(ours[range]), Array(reference[range]))
                worstTensor = max(worstTensor, error)
                XCTAssertLessThanOrEqual(error, tolerance, "\(entry.name) after two accumulated steps")
            }
        }
        print("accum-freq parity: worst gradient ‖Δ‖/‖g‖ \(worstGradient), worst tensor after 2 steps \(worstTensor)")
    }

    /// Accumulating 2 × 4 gives every parameter the gradient of one batch of 8 (dropout off), except `logit_scale`,
    /// which every micro-batch's loss depends on: its gradient is 2× (1e-5 relative throughout).
    func testTwoMicroBatchesEqualOneBatchOfEight() throws {
        let batch = try TrainOptionsFixture.stateDict("accum.batch.pt")
        let images = try TrainOptionsFixture.rows(XCTUnwrap(batch["images"]).tensor(), 0..<8)
        let tokens = Array(try TrainOptionsFixture.tokens(XCTUnwrap(batch["ids"])).prefix(8))
        let (whole, wholeStep) = try TrainOptionsFixture.training()
        let loss = try wholeStep.lossAndGradients(images: images, tokens: tokens)
        let (accumulated, accumulatedStep) = try TrainOptionsFixture.training()
        for rows in [0..<4, 4..<8] {
            try accumulatedStep.cacheMicroBatch(images: TrainOptionsFixture.rows(images, rows), tokens: Array(tokens[rows]),
                                                dropoutSeed: 0)
        }
        let result = try accumulatedStep.runAccumulated(step: 0)
        XCTAssertEqual(result.loss, loss.loss, accuracy: 1e-5 * loss.loss)
        let wholeGradients = wholeStep.gradients.named(whole.model.stateEntries())
        let accumulatedGradients = accumulatedStep.gradients.named(accumulated.model.stateEntries())
        XCTAssertEqual(Set(wholeGradients.keys), Set(accumulatedGradients.keys))
        for (name, gradient) in wholeGradients {
            var expected = gradient.toArray()
            if name == "logit_scale" { expected = expected.map { 2 * $0 } }
            let ours = try XCTUnwrap(accumulatedGradients[name]).toArray()
            for range in TrainOptionsFixture.comparableRange(name, count: expected.count) {
                XCTAssertLessThanOrEqual(relativeError(Array(ours[range]), Array(expected[range])), tolerance, name)
            }
        }
    }
}
