import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Reading `.pt` files the reference's torch 1.13 saved (Scripts/fixtures/gen_checkpoint.py). Values must be
/// bit-exact: the file holds the very bits the reference wrote (tolerance 0).
final class TorchReadTests: XCTestCase {
    func testBareStateDictMatchesReferenceValuesDtypesAndLayouts() throws {
        let checkpoint = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt"))
        let expected = try Fixtures.tensors("checkpoint/state_dict.json")
        let meta = try Fixtures.meta("checkpoint/state_dict.json")
        XCTAssertEqual(checkpoint.layout, .bareStateDict)
        XCTAssertEqual(checkpoint.stateDict.keys, meta["order"] as? [String])
        let dtypes = try XCTUnwrap(meta["dtypes"] as? [String: String])
        let strides = try XCTUnwrap(meta["strides"] as? [String: [Int]])
        let offsets = try XCTUnwrap(meta["offsets"] as? [String: Int])
        for (key, tensor) in checkpoint.stateDict.entries {
            let reference = try XCTUnwrap(expected[key], key)
            XCTAssertEqual(tensor.dtype.rawValue, dtypes[key], key)
            XCTAssertEqual(tensor.shape, reference.shape, key)
            XCTAssertEqual(tensor.strides, strides[key], key)
            XCTAssertEqual(tensor.offset, offsets[key], key)
            XCTAssertEqual(tensor.floatValues(), reference.floats, key)
            XCTAssertEqual(tensor.tensor().shape, reference.shape, key)
        }
        let int64 = try XCTUnwrap(Fixtures.json("checkpoint/state_dict_int64.json") as? [String: [Int]])
        for (key, values) in int64 {
            XCTAssertEqual(checkpoint.stateDict[key]?.int64Values(), values.map { Int64($0) }, key)
        }
    }

    func testViewsOfOneStorageShareIt() throws {
        let stateDict = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt")).stateDict
        let first = try XCTUnwrap(stateDict["shared.first"]), second = try XCTUnwrap(stateDict["shared.second"])
        XCTAssertTrue(first.storage === second.storage)
        XCTAssertEqual(first.storage.count, 12)
        XCTAssertEqual(second.floatValues(), [2.5, 3, 3.5, 4])
        XCTAssertFalse(try XCTUnwrap(stateDict["transposed"]).isContiguous)
    }

    func testTrainingCheckpointHoldsEpochStepNameWeightsAndAdamWState() throws {
        let checkpoint = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt"))
        let expected = try Fixtures.tensors("checkpoint/training.json")
        let meta = try Fixtures.meta("checkpoint/training.json")
        XCTAssertEqual(checkpoint.layout, .training)
        XCTAssertEqual(checkpoint.epoch, 3)
        XCTAssertEqual(checkpoint.step, 7)
        XCTAssertEqual(checkpoint.name, "tiny-run")
        XCTAssertEqual(checkpoint.stateDict.keys, meta["order"] as? [String])
        for (key, tensor) in checkpoint.stateDict.entries {
            XCTAssertEqual(tensor.floatValues(), expected["state_dict/\(key)"]?.floats, key)
        }
        XCTAssertEqual(checkpoint.stateDict["module.bn.num_batches_tracked"]?.dtype, .int64)

        let optimizer = try AdamWCheckpointState(pickleValue: XCTUnwrap(checkpoint.optimizer), path: "training.pt")
        XCTAssertEqual(optimizer.states.map(\.index), Array(0..<9))
        for (index, state) in optimizer.states {
            XCTAssertEqual(state.step, Float(try XCTUnwrap(expected["optimizer/\(index)/step"]).values[0]))
            XCTAssertEqual(state.expAvg.toArray(), expected["optimizer/\(index)/exp_avg"]?.floats)
            XCTAssertEqual(state.expAvgSq.toArray(), expected["optimizer/\(index)/exp_avg_sq"]?.floats)
        }
        let groups = try XCTUnwrap(meta["param_groups"] as? [[String: Any]])
        XCTAssertEqual(optimizer.groups.count, groups.count)
        for (group, reference) in zip(optimizer.groups, groups) {
            XCTAssertEqual(group.lr, reference["lr"] as? Double)  // a numpy float64 in the file
            XCTAssertEqual(group.weightDecay, reference["weight_decay"] as? Double)
            XCTAssertEqual([group.betas.0, group.betas.1], reference["betas"] as? [Double])
            XCTAssertEqual(group.eps, reference["eps"] as? Double)
            XCTAssertEqual(group.params, reference["params"] as? [Int])
        }
        XCTAssertEqual(checkpoint.optimizer?["param_groups"]?.elements?.first?["foreach"], PickleValue.none)
    }

    func testSafetensorsFileMatchesTheTorchFile() throws {
        let torch = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt")).stateDict
        let safe = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.safetensors"))
        XCTAssertEqual(safe.layout, .bareStateDict)
        XCTAssertEqual(safe.stateDict, torch)
    }
}
