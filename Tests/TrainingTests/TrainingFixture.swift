import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// One of Scripts/fixtures/gen_training.py's configurations: the model at its initial weights, the batch, the
/// hyperparameters and the reference's results for a variant.
struct TrainingFixture {
    let name: String
    let model: CLIPModel
    let initial: StateDict
    let images: Tensor
    let tokens: [[Int]]
    let meta: [String: Double]
    let results: Checkpoint

    init(_ name: String, variant: String) throws {
        self.name = name
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("training/\(name).config.json"))
        model = try CLIPModel.load(config: config, checkpoint: Fixtures.url("training/\(name).init.pt")).model
        initial = try Checkpoint.load(contentsOf: Fixtures.url("training/\(name).init.pt")).stateDict
        let batch = try Checkpoint.load(contentsOf: Fixtures.url("training/\(name).batch.pt")).stateDict
        images = try XCTUnwrap(batch["images"]).tensor()
        let ids = try XCTUnwrap(batch["ids"])
        let values = try XCTUnwrap(ids.int64Values()).map { Int($0) }
        let length = ids.shape[1]
        tokens = stride(from: 0, to: values.count, by: length).map { Array(values[$0..<($0 + length)]) }
        let json = try XCTUnwrap(try Fixtures.json("training/\(name).meta.json") as? [String: Any])
        meta = json.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        results = try Checkpoint.load(contentsOf: Fixtures.url("training/\(name).\(variant).pt"))
    }

    /// A training step over the fixture's model with the fixture's hyperparameters, dropout off.
    func trainingStep(gradientCheckpointing: Bool = false, freezeVision: Bool = false) throws -> TrainingStep {
        let schedule = try CosineSchedule(baseLearningRate: try value("lr"), warmupSteps: Int(try value("warmup")),
                                          totalSteps: Int(try value("total_steps")))
        return TrainingStep(model: model, schedule: schedule, beta1: try value("beta1"), beta2: try value("beta2"),
                            eps: try value("eps"), weightDecay: try value("wd"),
                            options: TrainingOptions(gradientCheckpointing: gradientCheckpointing,
                                                     freezeVision: freezeVision, dropout: false))
    }

    func value(_ key: String) throws -> Double { try XCTUnwrap(meta[key], "\(name).meta.json lacks \(key)") }

    /// The reference's result tensor `key`.
    func result(_ key: String) throws -> Tensor {
        try XCTUnwrap(results.stateDict[key], "\(name) results lack \(key)").tensor()
    }
}

/// ‖a − b‖ / ‖b‖ (‖a − b‖ when b is zero).
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var difference = 0.0, norm = 0.0
    for index in a.indices {
        let d = Double(a[index]) - Double(b[index])
        difference += d * d
        norm += Double(b[index]) * Double(b[index])
    }
    return norm == 0 ? difference.squareRoot() : (difference / norm).squareRoot()
}
