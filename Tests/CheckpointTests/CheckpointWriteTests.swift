import Checkpoint
import Foundation
import Tensor
import TestSupport
import XCTest

/// Writing `.pt` and `.safetensors` and reading back. That torch.load reads what we write is checked by
/// Scripts/fixtures/gen_checkpoint.py against the reference (it runs `cnclip convert`); here every round trip
/// must reproduce the reference's fixtures bit for bit (tolerance 0).
final class CheckpointWriteTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    func testBareStateDictRoundTripsWithViewsAndSharedStorage() throws {
        let original = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt"))
        for forceZip64 in [false, true] {
            let url = directory.appendingPathComponent("copy\(forceZip64 ? "64" : "").pt")
            try original.write(to: url, forceZip64: forceZip64)
            let copy = try Checkpoint.load(contentsOf: url)
            XCTAssertEqual(copy.layout, .bareStateDict)
            XCTAssertEqual(copy.stateDict, original.stateDict)
            XCTAssertTrue(copy.stateDict["shared.first"]?.storage === copy.stateDict["shared.second"]?.storage)
            XCTAssertEqual(copy.stateDict["transposed"]?.strides, [1, 3])
        }
    }

    func testWrittenArchiveHasTorchLayout() throws {
        let url = directory.appendingPathComponent("epoch_latest.pt")
        try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt")).write(to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        // Every local header's data starts 64-byte aligned, under the folder named after the file.
        var offset = 0, names: [String] = []
        while bytes[offset ..< offset + 4] == [0x50, 0x4B, 0x03, 0x04] {
            let size = Int(bytes[offset + 18]) | Int(bytes[offset + 19]) << 8 | Int(bytes[offset + 20]) << 16
            let nameLength = Int(bytes[offset + 26]), extraLength = Int(bytes[offset + 28]) | Int(bytes[offset + 29]) << 8
            names.append(String(decoding: bytes[offset + 30 ..< offset + 30 + nameLength], as: UTF8.self))
            let start = offset + 30 + nameLength + extraLength
            XCTAssertEqual(start % 64, 0, names.last ?? "")
            offset = start + size
        }
        XCTAssertEqual(names.first, "epoch_latest/data.pkl")
        XCTAssertEqual(names.last, "epoch_latest/version")
        XCTAssertEqual(names.count, 2 + 10)  // 11 tensors, two of them sharing one storage
    }

    func testTrainingCheckpointRoundTripsIncludingOptimizer() throws {
        let original = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt"))
        let url = directory.appendingPathComponent("epoch3.pt")
        try original.write(to: url)
        let copy = try Checkpoint.load(contentsOf: url)
        XCTAssertEqual([copy.epoch, copy.step], [3, 7])
        XCTAssertEqual(copy.name, "tiny-run")
        XCTAssertEqual(copy.stateDict, original.stateDict)
        // numpy float64 lr comes back as a Python float of the same value; everything else is identical.
        XCTAssertEqual(copy.optimizer, original.optimizer)
    }

    func testAdamWStateWrittenFromSwiftReadsBack() throws {
        let state = AdamWCheckpointState(
            states: [(0, .init(step: 2, expAvg: try Tensor(shape: [2], data: [0.5, -1]),
                               expAvgSq: try Tensor(shape: [2], data: [0.25, 1])))],
            groups: [.init(weightDecay: 0, lr: 5e-5, betas: (0.9, 0.98), eps: 1e-6, params: [0]),
                     .init(weightDecay: 0.001, lr: 5e-5, betas: (0.9, 0.98), eps: 1e-6, params: [])])
        let weights = StateDict([("module.w", try StoredTensor(try Tensor(shape: [2], data: [1, 2])))])
        let checkpoint = Checkpoint(layout: .training, stateDict: weights, epoch: 1, step: 10, name: "run",
                                    optimizer: try state.pickleValue)
        let url = directory.appendingPathComponent("epoch1.pt")
        try checkpoint.write(to: url)
        let copy = try Checkpoint.load(contentsOf: url)
        let back = try AdamWCheckpointState(pickleValue: XCTUnwrap(copy.optimizer), path: url.path)
        XCTAssertEqual(back.groups, state.groups)
        XCTAssertEqual(back.states.first?.state.step, 2)
        XCTAssertEqual(back.states.first?.state.expAvgSq.toArray(), [0.25, 1])
        let step = try XCTUnwrap(copy.optimizer?["state"]?[index: 0]?["step"]?.tensorValue)
        XCTAssertEqual(step.shape, [])
        XCTAssertEqual(step.dtype, .float32)
    }

    func testSafetensorsRoundTripKeepsDtypesAndTrainingMetadata() throws {
        let training = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt"))
        let url = directory.appendingPathComponent("weights.safetensors")
        XCTAssertThrowsError(try training.write(to: url))  // the optimizer does not fit safetensors
        var weightsOnly = training
        weightsOnly.optimizer = nil
        try weightsOnly.write(to: url)
        let copy = try Checkpoint.load(contentsOf: url)
        XCTAssertEqual(copy.layout, .training)
        XCTAssertEqual([copy.epoch, copy.step], [3, 7])
        XCTAssertEqual(copy.name, "tiny-run")
        XCTAssertEqual(copy.stateDict, training.stateDict)
        XCTAssertEqual(copy.stateDict["module.bn.num_batches_tracked"]?.dtype, .int64)
    }

    func testConvertHalfFollowsReferenceRuleAndFloatWidensEverything() throws {
        let half = directory.appendingPathComponent("half.pt"), float = directory.appendingPathComponent("float.pt")
        let original = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt"))
        let halved = try CheckpointConversion.convert(Fixtures.url("checkpoint/training.pt"), to: half,
                                                      options: .init(precision: .half, stripOptimizer: true))
        XCTAssertNil(halved.optimizer)
        let read = try Checkpoint.load(contentsOf: half)
        XCTAssertNil(read.optimizer)
        for (key, tensor) in read.stateDict.entries {
            let expected: StoredDType = key == "module.bn.num_batches_tracked" ? .int64
                : ReferencePrecision.isHalf(key) ? .float16 : .float32
            XCTAssertEqual(tensor.dtype, expected, key)
            let reference = try XCTUnwrap(original.stateDict[key]).floatValues()
            let roundedToHalf = reference.map { Float(Float16($0)) }
            XCTAssertEqual(tensor.floatValues(), expected == .float16 ? roundedToHalf : reference, key)
        }
        try CheckpointConversion.convert(half, to: float, options: .init(precision: .float))
        for (key, tensor) in try Checkpoint.load(contentsOf: float).stateDict.entries {
            XCTAssertNotEqual(tensor.dtype, .float16, key)
            XCTAssertEqual(tensor.floatValues(), read.stateDict[key]?.floatValues(), key)
        }
    }

    func testAtomicWriteLeavesNoTemporaryFiles() throws {
        let url = directory.appendingPathComponent("out.pt")
        try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt")).write(to: url)
        try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/state_dict.pt")).write(to: url)  // overwrite
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.pt"])
    }
}
