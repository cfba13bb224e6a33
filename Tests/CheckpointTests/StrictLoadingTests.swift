import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Strict loading and the reference's key rules (§2.4), and its fp16 rule (§1.6) against `convert_weights`.
final class StrictLoadingTests: XCTestCase {
    /// The tiny model of training.pt as the model code would list it (unprefixed, no pooler).
    private let tinyModel = [
        ParameterSpec(name: "logit_scale", shape: []), ParameterSpec(name: "c_proj.weight", shape: [3, 4]),
        ParameterSpec(name: "c_proj.bias", shape: [3]), ParameterSpec(name: "ln.weight", shape: [3]),
        ParameterSpec(name: "ln.bias", shape: [3]), ParameterSpec(name: "bn.weight", shape: [3]),
        ParameterSpec(name: "bn.bias", shape: [3]), ParameterSpec(name: "bn.running_mean", shape: [3]),
        ParameterSpec(name: "bn.running_var", shape: [3]), ParameterSpec(name: "bn.num_batches_tracked", shape: []),
    ]

    private func trainingStateDict() throws -> StateDict {
        try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt")).stateDict
    }

    func testCreateModelRuleStripsModulePrefixAndDropsPooler() throws {
        let stateDict = try trainingStateDict()
        let tensors = try StrictLoading.load(tinyModel, from: stateDict, rule: .createModel)
        XCTAssertEqual(Set(tensors.keys), Set(tinyModel.map(\.name)))
        XCTAssertEqual(tensors["c_proj.weight"]?.toArray(), stateDict["module.c_proj.weight"]?.floatValues())
        XCTAssertEqual(try StrictLoading.load(tinyModel, from: stateDict, rule: .trainingResume).count, tinyModel.count)
    }

    func testMissingUnexpectedAndMisShapedKeysAreAllNamed() throws {
        var stateDict = try trainingStateDict()
        stateDict["module.ln.bias"] = nil
        stateDict["module.extra.weight"] = try StoredTensor(dtype: .float32, shape: [1], contiguousBytes: Data(count: 4))
        stateDict["module.ln.weight"] = try StoredTensor(dtype: .float32, shape: [4], contiguousBytes: Data(count: 16))
        XCTAssertThrowsError(try StrictLoading.load(tinyModel, from: stateDict)) { error in
            XCTAssertEqual(error as? CheckpointError, .stateDictMismatch(
                missing: ["ln.bias"], unexpected: ["module.extra.weight"],
                misShaped: [.init(key: "ln.weight", expected: [3], found: [4])]))
            XCTAssertTrue("\(error)".contains("ln.weight (model [3], checkpoint [4])"))
        }
    }

    func testUnprefixedDictKeepsPoolerKeysWhichFailStrictLoadAsInTheReference() throws {
        // Reference bug §8.2 item 9: only a `module`-prefixed first key triggers stripping and pooler dropping.
        let stateDict = StateDict(try trainingStateDict().entries.map { (String($0.key.dropFirst(7)), $0.tensor) })
        XCTAssertThrowsError(try StrictLoading.load(tinyModel, from: stateDict)) { error in
            XCTAssertEqual(error as? CheckpointError, .stateDictMismatch(
                missing: [], unexpected: ["bert.pooler.weight", "bert.pooler.bias"], misShaped: []))
        }
        // Training resume needs the DDP prefix on every key.
        XCTAssertThrowsError(try StrictLoading.load(tinyModel, from: stateDict, rule: .trainingResume)) { error in
            guard case let .stateDictMismatch(missing, unexpected, _)? = error as? CheckpointError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(missing.count, tinyModel.count)
            XCTAssertEqual(unexpected.count, tinyModel.count)
        }
    }

    func testHalfRuleMatchesReferenceConvertWeightsForViTAndResNet() throws {
        let models = try XCTUnwrap(Fixtures.json("checkpoint/convert_weights_dtypes.json") as? [String: [[String]]])
        XCTAssertEqual(models.count, 2)
        for (model, keys) in models {
            XCTAssertGreaterThan(keys.count, 100, model)
            for entry in keys where entry[1] != "int64" {
                XCTAssertEqual(ReferencePrecision.isHalf(entry[0]), entry[1] == "float16", "\(model): \(entry[0])")
                XCTAssertEqual(ReferencePrecision.isHalf("module." + entry[0]), entry[1] == "float16", entry[0])
            }
        }
    }
}
