import Checkpoint
import Foundation
import Models
import Quantized
import Tensor
import TestSupport
import XCTest

/// The int8 checkpoint format: what `cnclip convert --quantize int8` writes, reading it back, and its bad inputs.
final class QuantizedCheckpointTests: XCTestCase {
    private func config() throws -> ModelConfig {
        try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
    }

    private func quantizedFile() throws -> (url: URL, original: StateDict, quantized: StateDict) {
        let original = try Checkpoint.load(contentsOf: Fixtures.url("models/tiny-vit-bert2.fp32.pt")).stateDict
        let quantized = try QuantizedCheckpoint.quantize(original, for: CLIPModel(config: config()))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-int8-\(UUID()).safetensors")
        try SafeTensors.write(quantized, metadata: [:], to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return (url, original, quantized)
    }

    func testQuantizedCheckpointHoldsInt8LinearWeightsAndScales() throws {
        let (_, original, quantized) = try quantizedFile()
        let linearKeys = QuantizedCheckpoint.linearWeightKeys(of: try CLIPModel(config: config()))
        XCTAssertFalse(linearKeys.isEmpty)
        var linearBytes = (fp32: 0, int8: 0)
        for (key, tensor) in original.entries {
            let stored = try XCTUnwrap(quantized[key], key)
            if linearKeys[QuantizedCheckpoint.modelKey(key)] != nil {
                XCTAssertEqual(stored.dtype, .int8, key)
                let scale = try XCTUnwrap(quantized[QuantizedCheckpoint.scaleKey(for: key)], key)
                XCTAssertEqual(scale.dtype, .float32)
                XCTAssertEqual(scale.shape, [tensor.shape[0]])
                linearBytes.fp32 += tensor.count * 4
                linearBytes.int8 += stored.count + scale.count * 4
            } else {
                XCTAssertEqual(stored, tensor, key)
            }
        }
        XCTAssertLessThan(Double(linearBytes.int8), 0.3 * Double(linearBytes.fp32))
    }

    /// Loading the int8 file for int8 inference uses the stored codes: the same features as quantising the fp32
    /// model at load time.
    func testInt8CheckpointGivesTheSameFeaturesAsQuantisingAtLoad() throws {
        let (url, _, _) = try quantizedFile()
        let fromFile = try CLIPModel.load(config: config(), checkpoint: url, weightPrecision: .exact, precision: .int8)
        let atLoad = try CLIPModel.load(config: config(), checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt"),
                                        weightPrecision: .exact, precision: .int8)
        XCTAssertEqual(fromFile.report.onDNNL, fromFile.loaded.model.linearLayers.count)
        let tokens = [[101, 2769, 4263, 872, 102], [101, 3221, 102, 0, 0]]
        XCTAssertEqual(try fromFile.loaded.model.encodeText(tokens).toArray(),
                       try atLoad.loaded.model.encodeText(tokens).toArray())
    }

    /// For int8 inference the stored codes never become fp32: the model's Linear weights keep their zero pages
    /// (tiny weights are below the size that gets released, so they can still be read here).
    func testInt8CheckpointNeverDecodesLinearWeightsToFP32() throws {
        let (url, _, _) = try quantizedFile()
        let model = try CLIPModel.load(config: config(), checkpoint: url, weightPrecision: .exact, precision: .int8)
            .loaded.model
        for layer in model.linearLayers where !layer.weight.storage.isReleased {
            XCTAssertTrue(layer.weight.toArray().allSatisfy { $0 == 0 })
        }
        // The other tensors were loaded: a layer norm's weight is not zero.
        let norm = try XCTUnwrap(model.stateEntries().first { $0.name.hasSuffix("ln_final.weight") || $0.name.hasSuffix("LayerNorm.weight") })
        XCTAssertFalse(norm.tensor.toArray().allSatisfy { $0 == 0 }, norm.name)
        // fp32 from the same file decodes s·q into the Linear weights.
        let fp32 = try CLIPModel.load(config: config(), checkpoint: url, weightPrecision: .exact, precision: .fp32)
            .loaded.model
        XCTAssertFalse(try XCTUnwrap(fp32.linearLayers.first).weight.toArray().allSatisfy { $0 == 0 })
    }

    func testMissingScaleIsNamed() throws {
        let (_, _, quantized) = try quantizedFile()
        let key = try XCTUnwrap(quantized.keys.first { quantized[$0]?.dtype == .int8 })
        var broken = quantized
        broken[QuantizedCheckpoint.scaleKey(for: key)] = nil
        XCTAssertThrowsError(try QuantizedCheckpoint.split(broken, for: CLIPModel(config: config()), path: "m.safetensors")) {
            XCTAssertEqual($0 as? QuantizedCheckpointError,
                           .missingScale(path: "m.safetensors", key: QuantizedCheckpoint.scaleKey(for: key)))
        }
    }

    func testWrongDTypesAreNamed() throws {
        let (_, _, quantized) = try quantizedFile()
        let key = try XCTUnwrap(quantized.keys.first { quantized[$0]?.dtype == .int8 })
        let model = try CLIPModel(config: config())
        var halfScale = quantized
        let scaleKey = QuantizedCheckpoint.scaleKey(for: key)
        halfScale[scaleKey] = try quantized[scaleKey]!.converted(to: .float16)
        XCTAssertThrowsError(try QuantizedCheckpoint.split(halfScale, for: model, path: "m")) {
            XCTAssertEqual($0 as? QuantizedCheckpointError,
                           .wrongDType(path: "m", key: scaleKey, found: "float16", expected: "float32"))
        }
        // An int8 tensor where the model has no Linear weight (a position table).
        let other = try XCTUnwrap(quantized.keys.first { $0.hasSuffix("position_embeddings.weight") })
        var int8Table = quantized
        let table = quantized[other]!
        int8Table[other] = try StoredTensor(dtype: .int8, shape: table.shape, contiguousBytes: Data(count: table.count))
        XCTAssertThrowsError(try QuantizedCheckpoint.split(int8Table, for: model, path: "m")) {
            XCTAssertEqual($0 as? QuantizedCheckpointError,
                           .wrongDType(path: "m", key: other, found: "int8", expected: "a float type"))
        }
    }
}
