import Models
import Tensor
import TestSupport
import XCTest

/// The towers' last block computes the class token alone (the only row the features use): it must equal row 0
/// of the full block. Weights from the tiny reference checkpoint; inputs from a fixed-seed generator.
final class ClassTokenPathTests: XCTestCase {
    private func model() throws -> CLIPModel {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        return try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt")).model
    }

    /// Uniform values in [-2, 2) from a 64-bit LCG, so the test does not depend on the platform's generator.
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    private func rowZero(_ x: Tensor) -> [Float] {
        let all = x.contiguous().toArray(), length = x.shape[1], width = x.shape[2]
        return (0..<x.shape[0]).flatMap { Array(all[($0 * length * width)..<($0 * length * width + width)]) }
    }

    func testVisionBlockClassTokenEqualsRowZeroOfTheFullBlock() throws {
        guard case let .transformer(tower) = try model().visual else { return XCTFail("expected a ViT tower") }
        let width = tower.positionalEmbedding.shape[1], length = tower.positionalEmbedding.shape[0]
        let x = try Tensor(shape: [3, length, width], data: values(3 * length * width, seed: 7))
        for block in tower.blocks {
            let classToken = try block.classTokenOutput(x)
            XCTAssertEqual(classToken.shape, [3, width])
            XCTAssertLessThanOrEqual(maxAbsDifference(classToken.toArray(), rowZero(try block(x))), 1e-5)
        }
    }

    func testBertClassTokenEqualsRowZeroWithPaddedKeys() throws {
        let text = try model().text
        let length = 7
        // Row 0 has no padding, row 1 ends in three [PAD] (id 0) keys the mask must hide.
        let ids = [101, 2769, 4263, 872, 1962, 4638, 102, 101, 3221, 5018, 102, 0, 0, 0]
        let classToken = try text.classTokenHiddenState(ids: ids, batch: 2, length: length)
        let full = try text(ids: ids, batch: 2, length: length)
        XCTAssertEqual(classToken.shape, [2, full.shape[2]])
        XCTAssertLessThanOrEqual(maxAbsDifference(classToken.toArray(), rowZero(full)), 1e-5)
        XCTAssertThrowsError(try text.classTokenHiddenState(ids: ids, batch: 3, length: length))
    }
}
