import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// Scripts/fixtures/gen_trainopts.py's reference results over gen_training.py's tiny ViT+BERT model, and the
/// comparison they share.
enum TrainOptionsFixture {
    static let name = "train-vit-bert2"

    /// The tiny model at its initial weights with its batch of 4 and a dropout-free training step (lr 1e-3, warm-up
    /// 3 of 10 steps, β (0.9, 0.98), ε 1e-6, wd 0.2), as the fixture script trains it.
    static func training() throws -> (fixture: TrainingFixture, step: TrainingStep) {
        let fixture = try TrainingFixture(name, variant: "freeze")
        return (fixture, try fixture.trainingStep())
    }

    /// A `Tests/Fixtures/trainopts/` file's state dict.
    static func stateDict(_ file: String) throws -> StateDict {
        try Checkpoint.load(contentsOf: Fixtures.url("trainopts/\(file)")).stateDict
    }

    /// `rows` of a stored `[N, …]` tensor.
    static func rows(_ tensor: Tensor, _ range: Range<Int>) throws -> Tensor {
        try tensor.sliced(axis: 0, range: range).contiguous()
    }

    /// Token rows of a stored int64 `[N, L]` tensor.
    static func tokens(_ ids: StoredTensor) throws -> [[Int]] {
        let values = try XCTUnwrap(ids.int64Values()).map { Int($0) }
        let length = ids.shape[1]
        return stride(from: 0, to: values.count, by: length).map { Array(values[$0..<($0 + length)]) }
    }

    /// Parameters whose gradient is zero up to rounding (attention key biases; see TrainingParityTests): only the
    /// query and value thirds of ViT's packed bias are compared, BERT's key bias is skipped.
    static func comparableRange(_ name: String, count: Int) -> [Range<Int>] {
        if name.hasSuffix("attn.in_proj_bias") { return [0..<count / 3, 2 * count / 3..<count] }
        if name.hasSuffix("attention.self.key.bias") { return [] }
        return [0..<count]
    }

    /// Worst ‖ours − reference‖/‖reference‖ over the `grad.<name>` entries of `expected`, asserting each against
    /// `tolerance`; every reference gradient must have one of ours.
    static func compareGradients(_ step: TrainingStep, model: CLIPModel, expected: StateDict, tolerance: Double,
                                 label: String) throws -> Double {
        let named = step.gradients.named(model.stateEntries())
        var worst = 0.0
        for key in expected.keys where key.hasPrefix("grad.") {
            let name = String(key.dropFirst(5))
            let ours = try XCTUnwrap(named[name], "\(label): no gradient for \(name)").toArray()
            let reference = try XCTUnwrap(expected[key]).floatValues()
            for range in comparableRange(name, count: reference.count) {
                let error = relativeError(Array(ours[range]), Array(reference[range]))
                worst = max(worst, error)
                XCTAssertLessThanOrEqual(error, tolerance, "\(label): gradient of \(name)")
            }
        }
        return worst
    }
}
