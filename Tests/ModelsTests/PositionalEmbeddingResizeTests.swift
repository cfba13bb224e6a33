import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import XCTest

/// `resize_pos_embed` against the reference's own (Scripts/fixtures/gen_posembed.py): a tiny ViT checkpoint at grid 5
/// resized for grids 7 and 3 as training resume does it. Tolerances: the resized embedding 1e-6 absolute, image
/// features of the model loaded from it 1e-4 absolute; the log line exactly.
final class PositionalEmbeddingResizeTests: XCTestCase {
    private let checkpointURL = { try Fixtures.url("posembed/vit-grid5.pt") }

    private func model(grid: Int) throws -> CLIPModel {
        try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("posembed/to-grid\(grid).config.json")))
    }

    private func positionalEmbedding(of model: CLIPModel) throws -> Tensor {
        guard case let .transformer(tower) = model.visual else { throw XCTSkip("not a ViT") }
        return tower.positionalEmbedding
    }

    func testTrainingResumeResizesLikeTheReference() throws {
        let file = try Checkpoint.load(contentsOf: checkpointURL())
        for grid in [7, 3] {
            let model = try model(grid: grid)
            let expected = try Fixtures.tensors("posembed/to-grid\(grid).json")
            var lines: [String] = []
            let resized = try model.resizingPositionalEmbedding(in: file.stateDict, prefix: "module.") { lines.append($0) }
            try model.load(resized, rule: .trainingResume)

            XCTAssertEqual(lines, [try XCTUnwrap(Fixtures.meta("posembed/to-grid\(grid).json")["log"] as? String)])
            let embedding = try XCTUnwrap(expected["positional_embedding"])
            let ours = try positionalEmbedding(of: model)
            XCTAssertEqual(ours.shape, embedding.shape)
            XCTAssertLessThanOrEqual(maxAbsDifference(ours.toArray(), embedding.floats), 1e-6, "grid 5 → \(grid) embedding")

            let images = try XCTUnwrap(expected["images"])
            let features = try model.encodeImage(Tensor(shape: images.shape, data: images.floats))
            let expectedFeatures = try XCTUnwrap(expected["image_features"])
            XCTAssertEqual(features.shape, expectedFeatures.shape)
            XCTAssertLessThanOrEqual(maxAbsDifference(features.toArray(), expectedFeatures.floats), 1e-4,
                                     "grid 5 → \(grid) image features")
        }
    }

    /// `load()`/`restore_model` resizes unprefixed keys the same way.
    func testUnprefixedStateDictResizesTheSame() throws {
        let file = try Checkpoint.load(contentsOf: checkpointURL())
        let unprefixed = StateDict(file.stateDict.entries.map { (String($0.key.dropFirst("module.".count)), $0.tensor) })
        let model = try model(grid: 7)
        let resized = try model.resizingPositionalEmbedding(in: unprefixed) { _ in }
        let expected = try XCTUnwrap(try Fixtures.tensors("posembed/to-grid7.json")["positional_embedding"])
        let ours = try XCTUnwrap(resized[CLIPModel.positionalEmbeddingKey]).floatValues()
        XCTAssertLessThanOrEqual(maxAbsDifference(ours, expected.floats), 1e-6)
    }

    /// A checkpoint that already fits is passed through untouched and nothing is logged.
    func testMatchingGridIsLeftAlone() throws {
        let file = try Checkpoint.load(contentsOf: checkpointURL())
        let model = try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("posembed/vit-grid5.config.json")))
        var lines: [String] = []
        let result = try model.resizingPositionalEmbedding(in: file.stateDict, prefix: "module.") { lines.append($0) }
        XCTAssertEqual(result, file.stateDict)
        XCTAssertEqual(lines, [])
    }

    /// `create_model` (and the evaluation scripts) load strictly without resizing: the reference refuses.
    func testCreateModelPathRefusesAnotherGrid() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("posembed/to-grid7.config.json"))
        XCTAssertThrowsError(try CLIPModel.load(config: config, checkpoint: checkpointURL())) { error in
            XCTAssertTrue("\(error)".contains("visual.positional_embedding"), "\(error)")
        }
    }

    /// Rows after the class position that do not form a square grid cannot be resized (the reference's reshape fails).
    func testNonSquareGridIsAnErrorNamingTheKey() throws {
        let model = try model(grid: 3)
        let bad = StateDict([("module.visual.positional_embedding",
                              try StoredTensor(Tensor(shape: [27, 32], data: [Float](repeating: 0.5, count: 27 * 32))))])
        var lines: [String] = []
        XCTAssertThrowsError(try model.resizingPositionalEmbedding(in: bad, prefix: "module.") { lines.append($0) }) { error in
            XCTAssertEqual(error as? CheckpointError, .stateDictMismatch(missing: [], unexpected: [], misShaped: [
                .init(key: "module.visual.positional_embedding", expected: [10, 32], found: [27, 32])]))
        }
        XCTAssertEqual(lines, ["Resizing position embedding grid-size from (5, 5) to (3, 3)"], "logged before failing, as the reference")
    }

    /// The ViT-L-14 ↔ ViT-L-14-336 grids (16 ↔ 24) through the state-dict function, against the reference's.
    func testLargeGridsMatchTheReference() throws {
        for (old, new) in [(16, 24), (24, 16)] {
            let name = "posembed/grid\(old)-to-\(new).json"
            let fixture = try Fixtures.tensors(name)
            let input = try XCTUnwrap(fixture["input"]), expected = try XCTUnwrap(fixture["output"])
            var config = try ModelRegistry.config(contentsOf: Fixtures.url("posembed/vit-grid5.config.json"))
            config.imageResolution = new * (config.visionPatchSize ?? 1)
            config.visionWidth = input.shape[1]
            config.visionHeadWidth = input.shape[1]
            let model = try CLIPModel(config: config)
            let stateDict = StateDict([(CLIPModel.positionalEmbeddingKey,
                                        try StoredTensor(Tensor(shape: input.shape, data: input.floats)))])
            var lines: [String] = []
            let resized = try model.resizingPositionalEmbedding(in: stateDict) { lines.append($0) }
            let ours = try XCTUnwrap(resized[CLIPModel.positionalEmbeddingKey])
            XCTAssertEqual(ours.shape, expected.shape)
            XCTAssertLessThanOrEqual(maxAbsDifference(ours.floatValues(), expected.floats), 1e-6, name)
            XCTAssertEqual(lines, [try XCTUnwrap(Fixtures.meta(name)["log"] as? String)])
        }
    }

    /// Independent check of the kernel: with g_old = g_new every output position falls on a source position, where
    /// the cubic convolution's weights are exactly (0, 1, 0, 0).
    func testSameGridIsTheIdentity() {
        let values = (0..<(4 * 4 * 3)).map { Float($0) * 0.37 - 5 }
        XCTAssertEqual(BicubicGridResize.resize(values, channels: 3, from: 4, to: 4), values)
    }
}
