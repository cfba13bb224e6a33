import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Reading torch's legacy (non-zip) `.pt` format, as old Hugging Face `pytorch_model.bin` files are
/// (Scripts/fixtures/gen_legacyckpt.py; the expected values are what the reference's `torch.load` returned).
/// Values must be bit-exact (tolerance 0): the file holds the very bits torch wrote.
final class LegacyReadTests: XCTestCase {
    private func url(_ name: String) -> URL { Fixtures.url("legacyckpt/\(name)") }

    /// Asserts every tensor's order, dtype, shape, values and (where the fixture has them) layout and exact int64s.
    private func assertMatchesFixture(_ stateDict: StateDict, _ fixture: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Fixtures.tensors("legacyckpt/\(fixture)")
        let meta = try Fixtures.meta("legacyckpt/\(fixture)")
        XCTAssertEqual(stateDict.keys, meta["order"] as? [String], file: file, line: line)
        let dtypes = try XCTUnwrap(meta["dtypes"] as? [String: String])
        let strides = meta["strides"] as? [String: [Int]], offsets = meta["offsets"] as? [String: Int]
        for (key, tensor) in stateDict.entries {
            let reference = try XCTUnwrap(expected[key], key)
            XCTAssertEqual(tensor.dtype.rawValue, dtypes[key], key, file: file, line: line)
            XCTAssertEqual(tensor.shape, reference.shape, key, file: file, line: line)
            XCTAssertEqual(tensor.floatValues(), reference.floats, key, file: file, line: line)
            if let strides { XCTAssertEqual(tensor.strides, strides[key], key, file: file, line: line) }
            if let offsets { XCTAssertEqual(tensor.offset, offsets[key], key, file: file, line: line) }
        }
        for (key, values) in meta["int64"] as? [String: [Int]] ?? [:] {
            XCTAssertEqual(stateDict[key]?.int64Values(), values.map { Int64($0) }, key, file: file, line: line)
        }
    }

    func testSmallStateDictMatchesTorchLoadInValuesDtypesAndLayouts() throws {
        let checkpoint = try Checkpoint.load(contentsOf: url("state_dict.pt"))
        XCTAssertEqual(checkpoint.layout, .bareStateDict)
        try assertMatchesFixture(checkpoint.stateDict, "state_dict.json")
        XCTAssertEqual(checkpoint.stateDict["long.values"]?.int64Values(), [-3, 0, 1 << 40, -(1 << 62)])
        XCTAssertFalse(try XCTUnwrap(checkpoint.stateDict["transposed"]).isContiguous)
    }

    func testTensorsOfOneStorageShareIt() throws {
        let stateDict = try Checkpoint.load(contentsOf: url("state_dict.pt")).stateDict
        let views = try ["shared.first", "shared.second", "shared.strided"].map { try XCTUnwrap(stateDict[$0]) }
        XCTAssertTrue(views[0].storage === views[1].storage && views[1].storage === views[2].storage)
        XCTAssertEqual(views[0].storage.count, 12)
        XCTAssertEqual(views[2].floatValues(), [0.5, 2, 3.5, 5])  // arange(12) * 0.5, elements 1, 4, 7, 10
    }

    func testLegacyAndZipFilesOfOneObjectReadAlikeThroughTheSameAPI() throws {
        let legacy = try TorchSerialization.read(contentsOf: url("state_dict.pt"))
        XCTAssertEqual(legacy, try TorchSerialization.read(contentsOf: url("state_dict_zip.pt")))
        XCTAssertEqual(try Checkpoint.load(contentsOf: url("state_dict.pt")).stateDict,
                       try Checkpoint.load(contentsOf: url("state_dict_zip.pt")).stateDict)
        // A slice of a larger buffer (start index not 0) reads the same.
        let bytes = try Fixtures.data("legacyckpt/state_dict.pt")
        XCTAssertEqual(try TorchSerialization.read((Data([1, 2, 3]) + bytes).dropFirst(3), path: "slice.pt"), legacy)
    }

    func testTrainingCheckpointReadsLikeItsZipOriginal() throws {
        let legacy = try Checkpoint.load(contentsOf: url("training.pt"))
        let zip = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/training.pt"))
        XCTAssertEqual(legacy.layout, .training)
        XCTAssertEqual([legacy.epoch, legacy.step], [3, 7])
        XCTAssertEqual(legacy.name, zip.name)
        XCTAssertEqual(legacy.stateDict, zip.stateDict)
        XCTAssertEqual(legacy.optimizer, zip.optimizer)  // tensors bit-equal, numpy float64 lr exact
        XCTAssertNotNil(try AdamWCheckpointState(pickleValue: XCTUnwrap(legacy.optimizer), path: "training.pt"))
    }

    func testHuggingFaceStyleBertStateDictLoadsExactly() throws {
        let checkpoint = try Checkpoint.load(contentsOf: url("bert.pt"))
        XCTAssertEqual(checkpoint.layout, .bareStateDict)
        try assertMatchesFixture(checkpoint.stateDict, "bert.json")
        XCTAssertEqual(checkpoint.stateDict.keys.first, "bert.embeddings.word_embeddings.weight")
        XCTAssertEqual(checkpoint.stateDict["bert.embeddings.word_embeddings.weight"]?.shape, [24, 8])
        XCTAssertEqual(checkpoint.stateDict["bert.encoder.layer.1.output.LayerNorm.bias"]?.shape, [8])
        XCTAssertEqual(checkpoint.stateDict.keys.last, "cls.predictions.bias")
    }

    func testStorageViewsIndexTheirRangeOfTheRootStorage() throws {
        let stateDict = try Checkpoint.load(contentsOf: url("storage_views.pt")).stateDict
        try assertMatchesFixture(stateDict, "storage_views.json")
        let slice = try XCTUnwrap(stateDict["view.slice"]), again = try XCTUnwrap(stateDict["view.again"])
        let transposed = try XCTUnwrap(stateDict["view.transposed"]), root = try XCTUnwrap(stateDict["root.whole"])
        XCTAssertTrue(slice.storage === again.storage)  // one view key, one storage
        XCTAssertEqual([slice.storage.count, transposed.storage.count, root.storage.count], [6, 4, 10])
        XCTAssertEqual(slice.floatValues(), [-0.25, 0, 0.25])  // root elements 3 ..< 6 of arange(10) / 4 - 1
        XCTAssertEqual(stateDict["half.root"]?.floatValues(), [1.5, -2.25, 65504])
    }

    func testForbiddenGlobalIsRefusedByName() {
        XCTAssertThrowsError(try Checkpoint.load(contentsOf: url("forbidden_global.pt"))) { error in
            XCTAssertEqual(error as? CheckpointError,
                           .forbiddenGlobal(path: url("forbidden_global.pt").path, module: "os", name: "system"))
            XCTAssertTrue("\(error)".contains("refusing pickle global os.system"), "\(error)")
        }
    }

    func testBigEndianFileIsRefusedAndItsLittleEndianTwinLoads() throws {
        XCTAssertThrowsError(try Checkpoint.load(contentsOf: url("big_endian.pt"))) { error in
            guard case let .malformedLegacyFile(path, reason)? = error as? CheckpointError else {
                return XCTFail("expected malformedLegacyFile, got \(error)")
            }
            XCTAssertTrue(path.hasSuffix("big_endian.pt"))
            XCTAssertTrue(reason.contains("big-endian"), reason)
        }
        let twin = try Checkpoint.load(contentsOf: url("little_endian.pt"))
        XCTAssertEqual(twin.stateDict["w"]?.floatValues(), [1, 2])
    }

    /// Cutting a file anywhere gives a `CheckpointError` (never a crash); cut inside each part, the message
    /// names that part. Part offsets come from the generator (pickletools).
    func testEveryTruncationIsATypedErrorNamingTheMissingPart() throws {
        let data = try Fixtures.data("legacyckpt/state_dict.pt")
        let offsets = try XCTUnwrap((Fixtures.json("legacyckpt/offsets.json") as? [String: [Int]])?["state_dict.pt"])
        let parts = ["magic number", "the protocol version", "the sys-info dict", "the saved object's pickle",
                     "the storage key list", "storage"]
        for cut in 1 ..< data.count {
            let part = parts[try XCTUnwrap(offsets.lastIndex { $0 <= cut })]
            XCTAssertThrowsError(try TorchSerialization.read(data.prefix(cut), path: "cut.pt"), "cut at \(cut)") { error in
                guard case let .malformedLegacyFile(path, reason)? = error as? CheckpointError else {
                    return XCTFail("cut at \(cut): \(error)")
                }
                XCTAssertEqual(path, "cut.pt")
                XCTAssertTrue(reason.contains(part), "cut at \(cut) (in \(part)): \(reason)")
            }
        }
        for name in ["storage_views.pt", "bert.pt", "forbidden_global.pt"] {
            let file = try Fixtures.data("legacyckpt/\(name)")
            for cut in stride(from: 0, to: file.count, by: name == "bert.pt" ? 7 : 1) {
                XCTAssertThrowsError(try TorchSerialization.read(file.prefix(cut), path: name)) { error in
                    XCTAssertTrue(error is CheckpointError, "\(name) cut at \(cut): \(error)")
                }
            }
        }
    }

    func testStorageRecordDisagreeingWithItsPersistentIdIsNamed() throws {
        var data = try Fixtures.data("legacyckpt/state_dict.pt")
        let records = try XCTUnwrap((Fixtures.json("legacyckpt/offsets.json") as? [String: [Int]])?["state_dict.pt"]?.last)
        data[records] &+= 1  // the first storage's element count, one more than its persistent id says
        XCTAssertThrowsError(try TorchSerialization.read(data, path: "count.pt")) { error in
            XCTAssertTrue("\(error)".contains("elements; its persistent id says"), "\(error)")
        }
    }

    func testPythonTwoByteStringsReadAsText() throws {
        // The header of a real file, then {'k': 'value'} with Python 2's SHORT_BINSTRING and BINSTRING, then [].
        let file = try Fixtures.data("legacyckpt/little_endian.pt")
        let header = try XCTUnwrap((Fixtures.json("legacyckpt/offsets.json") as? [String: [Int]])?["little_endian.pt"]?[3])
        let object: [UInt8] = [0x80, 0x02, 0x7D, 0x55, 0x01] + Array("k".utf8) + [0x54, 0x05, 0, 0, 0]
            + Array("value".utf8) + [0x73, 0x2E]
        let data = file.prefix(header) + Data(object + [0x80, 0x02, 0x5D, 0x2E])
        XCTAssertEqual(try TorchSerialization.read(data, path: "py2.pt"),
                       .dict([PickleDictEntry(.string("k"), .string("value"))], ordered: false))
    }

    func testTarArchiveOfOldTorchIsRefusedWithAClearMessage() {
        var header = [UInt8](repeating: 0, count: 1024)
        header.replaceSubrange(0 ..< 8, with: Array("storages".utf8))
        header.replaceSubrange(257 ..< 262, with: Array("ustar".utf8))
        XCTAssertThrowsError(try TorchSerialization.read(Data(header), path: "old.tar.pt")) { error in
            XCTAssertTrue("\(error)".contains("tar archive, the format of torch < 0.4"), "\(error)")
        }
    }
}
