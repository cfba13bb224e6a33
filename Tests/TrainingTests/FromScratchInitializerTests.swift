import Checkpoint
import Foundation
import Models
import TestSupport
import Training
import XCTest

/// The from-scratch initialisation against REFERENCE §1.7: distributions by name (sample std within 15 % of the
/// target on tensors of ≥ 500 values, uniform bounds exact), constants, fp16 rounding, and repeatability by seed.
final class FromScratchInitializerTests: XCTestCase {
    private func initialised(seed: UInt64) throws -> CLIPModel {
        let model = try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json")))
        FromScratchInitializer.initialize(model, seed: seed)
        return model
    }

    private func values(_ model: CLIPModel, _ name: String) throws -> [Float] {
        try XCTUnwrap(model.stateEntries().first { $0.name == name }, name).tensor.contiguous().toArray()
    }

    private func std(_ values: [Float]) -> Double {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        return (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
    }

    func testDistributionsFollowTheReference() throws {
        let model = try initialised(seed: 3)
        let config = model.config
        // N(0, 0.02) for BERT Linear and Embedding weights; biases 0; LayerNorm 1/0.
        XCTAssertEqual(std(try values(model, "bert.embeddings.word_embeddings.weight")), 0.02, accuracy: 0.003)
        XCTAssertEqual(std(try values(model, "bert.encoder.layer.0.intermediate.dense.weight")), 0.02, accuracy: 0.003)
        XCTAssertEqual(Set(try values(model, "bert.encoder.layer.0.attention.self.query.bias")), [0])
        XCTAssertEqual(Set(try values(model, "bert.embeddings.LayerNorm.weight")), [1])
        // ViT: positional embedding N(0, width^-1/2); in_proj Xavier-uniform, its bias 0; LN 1/0.
        let width = Double(config.visionWidth)
        XCTAssertEqual(std(try values(model, "visual.positional_embedding")), 1 / width.squareRoot(), accuracy: 0.15 / width.squareRoot())
        let inProj = try values(model, "visual.transformer.resblocks.0.attn.in_proj_weight")
        let xavier = Float((6 / (4 * width)).squareRoot())
        XCTAssertLessThanOrEqual(inProj.map(abs).max() ?? 0, xavier)
        XCTAssertGreaterThan(inProj.map(abs).max() ?? 0, xavier * 0.95)
        XCTAssertEqual(Set(try values(model, "visual.transformer.resblocks.0.attn.in_proj_bias")), [0])
        XCTAssertEqual(Set(try values(model, "visual.transformer.resblocks.0.attn.out_proj.bias")), [0])
        XCTAssertEqual(Set(try values(model, "visual.ln_pre.weight")), [1])
        // conv1 kaiming-uniform(a=√5): U(±1/√fan_in).
        let conv = try values(model, "visual.conv1.weight")
        let bound = Float(1 / Double(3 * 8 * 8).squareRoot())
        XCTAssertLessThanOrEqual(conv.map(abs).max() ?? 0, bound)
        XCTAssertGreaterThan(conv.map(abs).max() ?? 0, bound * 0.95)
        // text_projection N(0, H^-1/2); logit_scale ln(1/0.07).
        let hidden = Double(config.textHiddenSize)
        XCTAssertEqual(std(try values(model, "text_projection")), 1 / hidden.squareRoot(), accuracy: 0.15 / hidden.squareRoot())
        XCTAssertEqual(try values(model, "logit_scale"), [Float(log(1 / 0.07))])
    }

    func testHalfConvertedTensorsAreRoundedAndSeedsRepeat() throws {
        let model = try initialised(seed: 5)
        for entry in model.stateEntries() where ReferencePrecision.isHalf(entry.name) {
            let values = entry.tensor.contiguous().toArray()
            XCTAssertEqual(values, values.map { Float(Float16($0)) }, entry.name)
        }
        let visual = try values(model, "visual.class_embedding")
        XCTAssertNotEqual(visual, visual.map { Float(Float16($0)) })  // ViT embeddings stay fp32 in the reference
        XCTAssertEqual(try values(try initialised(seed: 5), "visual.proj"), try values(model, "visual.proj"))
        XCTAssertNotEqual(try values(try initialised(seed: 6), "visual.proj"), try values(model, "visual.proj"))
    }
}
