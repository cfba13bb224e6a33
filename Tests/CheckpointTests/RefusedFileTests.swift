import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Files that must be refused with a specific, named error (never a crash, never running code).
final class RefusedFileTests: XCTestCase {
    private func loadError(_ name: String) -> CheckpointError? {
        do {
            _ = try Checkpoint.load(contentsOf: Fixtures.url("checkpoint/\(name)"))
            XCTFail("\(name) loaded")
            return nil
        } catch {
            return error as? CheckpointError
        }
    }

    func testPickleWithPosixSystemIsRefusedByName() {
        guard case let .forbiddenGlobal(_, module, name)? = loadError("malicious.pt") else {
            return XCTFail("expected forbiddenGlobal")
        }
        XCTAssertEqual([module, name], ["posix", "system"])
        XCTAssertTrue(loadError("malicious.pt")?.description.contains("posix.system") ?? false)
    }

    func testTruncatedFileIsAMalformedArchive() {
        guard case let .malformedArchive(path, reason)? = loadError("truncated.pt") else {
            return XCTFail("expected malformedArchive")
        }
        XCTAssertTrue(path.hasSuffix("truncated.pt"))
        XCTAssertTrue(reason.contains("end-of-central-directory"), reason)
    }

    func testNonZipFileIsAMalformedArchive() {
        guard case let .malformedArchive(_, reason)? = loadError("not_a_zip.pt") else {
            return XCTFail("expected malformedArchive")
        }
        XCTAssertTrue(reason.contains("ZIP signature"), reason)
    }

    func testZipWithoutDataPklNamesTheMember() {
        XCTAssertEqual(loadError("no_data_pkl.pt"),
                       .missingMember(path: Fixtures.url("checkpoint/no_data_pkl.pt").path,
                                      member: "short_storage/data.pkl"))
    }

    func testStorageShorterThanItsTensorIsNamed() {
        guard case let .invalidTensor(_, reason)? = loadError("short_storage.pt") else {
            return XCTFail("expected invalidTensor")
        }
        XCTAssertTrue(reason.contains("short_storage/data/0 holds 8 bytes"), reason)
    }

    func testMissingFileIsUnreadable() {
        guard case .unreadableFile? = loadError("does_not_exist.pt") else { return XCTFail("expected unreadableFile") }
    }

    func testStorageClaimingHugeCountInASmallFileIsAnErrorNotAnAllocation() {
        let archive = HandmadeArchive.torch(pickle: HandmadeArchive.tensorPickle(count: 1_000_000_000_000),
                                            storage: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try TorchSerialization.read(archive, path: "huge.pt")) { error in
            guard case let .invalidTensor(_, reason)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)")
            }
            XCTAssertTrue(reason.contains("holds 8 bytes, fewer than the 1000000000000 float32 elements"), reason)
        }
    }

    func testTensorReachingPastItsStorageIsNamed() {
        let archive = HandmadeArchive.torch(pickle: HandmadeArchive.tensorPickle(count: 2, size: 3),
                                            storage: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try TorchSerialization.read(archive, path: "reach.pt")) { error in
            XCTAssertTrue("\(error)".contains("needs 3 elements but its storage holds 2"), "\(error)")
        }
    }

    func testSelfContainingListIsRefusedNotRecursedForever() {
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: a list that contains itself.
        let archive = HandmadeArchive.torch(pickle: [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], storage: nil)
        XCTAssertThrowsError(try TorchSerialization.read(archive, path: "cycle.pt")) { error in
            guard case .malformedPickle? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testCodeRunningGlobalsAreRefusedWhereverTheyAppear() {
        for (module, name) in [("builtins", "eval"), ("os", "system"), ("torch", "load"), ("subprocess", "Popen")] {
            let pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x28, 0x63] + Array("\(module)\n\(name)\n".utf8) + [0x65, 0x2E]
            let archive = HandmadeArchive.torch(pickle: pickle, storage: nil)
            XCTAssertThrowsError(try TorchSerialization.read(archive, path: "g.pt")) { error in
                XCTAssertEqual(error as? CheckpointError, .forbiddenGlobal(path: "g.pt", module: module, name: name))
            }
        }
    }
}
