import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import XCTest

/// Features of tiny random-weight models against the reference's (Scripts/fixtures/gen_models.py).
/// Tolerance: 1e-4 absolute, the project's parity bar for fp32 features.
final class TowerParityTests: XCTestCase {
    private let tolerance: Float = 1e-4

    private func check(_ name: String, file: String, precision: WeightPrecision, suffix: String) throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/\(name).config.json"))
        let loaded = try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/\(name).\(file).pt"),
                                        precision: precision)
        let expected = try Fixtures.tensors("models/\(name).features.json")
        let images = try XCTUnwrap(expected["images"])
        let ids = try XCTUnwrap(expected["ids"])
        let length = ids.shape[1]
        let tokens = stride(from: 0, to: ids.ints.count, by: length).map { Array(ids.ints[$0..<($0 + length)]) }

        let imageFeatures = try loaded.model.encodeImage(Tensor(shape: images.shape, data: images.floats))
        let textFeatures = try loaded.model.encodeText(tokens)
        let expectedImage = try XCTUnwrap(expected["image_features" + suffix])
        let expectedText = try XCTUnwrap(expected["text_features" + suffix])
        XCTAssertEqual(imageFeatures.shape, expectedImage.shape)
        XCTAssertEqual(textFeatures.shape, expectedText.shape)
        let imageDifference = maxAbsDifference(imageFeatures.toArray(), expectedImage.floats)
        let textDifference = maxAbsDifference(textFeatures.toArray(), expectedText.floats)
        XCTAssertLessThanOrEqual(imageDifference, tolerance, "\(name) \(file) image features")
        XCTAssertLessThanOrEqual(textDifference, tolerance, "\(name) \(file) text features")
        print("parity \(name) \(file) \(precision): image max|Δ| \(imageDifference), text max|Δ| \(textDifference)")

        if suffix.isEmpty {
            let logits = try loaded.model.similarity(images: Tensor(shape: images.shape, data: images.floats), tokens: tokens)
            let expectedLogits = try XCTUnwrap(expected["logits_per_image"])
            XCTAssertLessThanOrEqual(maxAbsDifference(logits.logitsPerImage.toArray(), expectedLogits.floats), 1e-3)
        }
    }

    func testVisionTransformerAndTwoLayerBert() throws {
        try check("tiny-vit-bert2", file: "fp32", precision: .exact, suffix: "")
        try check("tiny-vit-bert2", file: "fp16", precision: .exact, suffix: "_fp16w")
        try check("tiny-vit-bert2", file: "fp32", precision: .roundedToHalf, suffix: "_fp16w")
    }

    func testModifiedResNetAndOneLayerBert() throws {
        try check("tiny-rn-bert1", file: "fp32", precision: .exact, suffix: "")
        try check("tiny-rn-bert1", file: "fp16", precision: .exact, suffix: "_fp16w")
        try check("tiny-rn-bert1", file: "fp32", precision: .roundedToHalf, suffix: "_fp16w")
    }

    /// A checkpoint of another architecture names the keys that do not fit.
    func testForeignCheckpointNamesTheKeys() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        XCTAssertThrowsError(try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-rn-bert1.fp32.pt"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("checkpoint ") && text.contains("tiny-rn-bert1.fp32.pt does not fit"), text)
            XCTAssertTrue(text.contains("visual.transformer.resblocks.0.attn.in_proj_weight"), text)
            XCTAssertTrue(text.contains("unexpected keys: module.visual.bn1.weight"), text)
            XCTAssertTrue(text.contains("text_projection (model [16, 24], checkpoint [16, 20])"), text)
        }
    }
}
