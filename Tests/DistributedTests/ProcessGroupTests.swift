import Distributed
import XCTest

/// The launch rules without `mpirun` and the group of one.
final class ProcessGroupTests: XCTestCase {
    func testWithoutALauncherTheGroupIsOneProcess() throws {
        XCTAssertFalse(ProcessGroup.launchedByMPI([:]))
        XCTAssertTrue(ProcessGroup.launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        let group = try ProcessGroup.join(environment: ["LOCAL_RANK": "3", "WORLD_SIZE": "1", "RANK": "0"])
        XCTAssertEqual([group.rank, group.worldSize, group.localRank], [0, 1, 3])
        XCTAssertFalse(group.isDistributed)
        XCTAssertThrowsError(try ProcessGroup.join(environment: ["WORLD_SIZE": "4"])) {
            XCTAssertTrue("\($0)".contains("WORLD_SIZE=4") && "\($0)".contains("mpirun -np 4"), "\($0)")
        }
        XCTAssertThrowsError(try ProcessGroup.join(environment: ["RANK": "2"])) { XCTAssertTrue("\($0)".contains("RANK=2")) }
        XCTAssertThrowsError(try ProcessGroup.join(environment: ["LOCAL_RANK": "x"])) { XCTAssertTrue("\($0)".contains("LOCAL_RANK=x")) }
    }

    /// A one-process command started as 2 ranks is refused on every rank before it does anything (each rank would
    /// repeat the whole job); with one rank, or a command that shares its work, it runs.
    func testOneProcessCommandsRefuseSeveralRanks() throws {
        XCTAssertEqual(ProcessGroup.launcherWorldSize(["OMPI_COMM_WORLD_SIZE": "3"]), 3)
        XCTAssertNil(ProcessGroup.launcherWorldSize([:]))
        let refused = try Launcher.run(["tokenize", "你好"], ranks: 2)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("`cnclip tokenize` runs in one process, but this launch has 2 ranks"), refused.stderr)
        XCTAssertFalse(refused.stdout.contains("[101"), refused.stdout)
        let index = try Launcher.run(["index", "status", "--index", "/nonexistent"], ranks: 2)
        XCTAssertTrue(index.stderr.contains("`cnclip status` runs in one process"), index.stderr)
        let one = try Launcher.run(["tokenize", "你好"], ranks: 1)
        try Launcher.requireSuccess(one, "tokenize as 1 rank")
        XCTAssertTrue(one.stdout.hasPrefix("[101, 872, 1962, 102"), one.stdout)
    }

    func testDefaultThreadsShareTheAllowedCores() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let allowed = try XCTUnwrap(ProcessGroup.allowedCores())
        XCTAssertTrue((1...cores).contains(allowed), "\(allowed) of \(cores)")
        if allowed == cores {
            XCTAssertEqual(ProcessGroup.defaultThreads(ranksOnMachine: 1), cores)
            XCTAssertEqual(ProcessGroup.defaultThreads(ranksOnMachine: cores), 1)
            XCTAssertEqual(ProcessGroup.defaultThreads(ranksOnMachine: cores * 4), 1)
        } else {
            XCTAssertEqual(ProcessGroup.defaultThreads(ranksOnMachine: 1), allowed)
        }
    }

    func testCollectivesOfOneProcessAreTheIdentity() throws {
        let group = SingleProcessCommunicator()
        var values: [Float] = [1, 2, 3]
        try values.withUnsafeMutableBufferPointer { XCTAssertTrue(try group.startAllReduceSum($0).test()) }
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertEqual(try group.allReduceSum([1.5, 2]), [1.5, 2])
        XCTAssertEqual(try group.allGather([7, 8]), [[7, 8]])
        XCTAssertEqual(try group.broadcast("text", root: 0), "text")
        XCTAssertEqual(try group.broadcast(UInt64(42), root: 0), 42)
        XCTAssertEqual(try group.gather([1, 2], root: 0), [[1, 2]])
        XCTAssertNoThrow(try group.requireAgreement([1, 2], names: ["a", "b"]))
    }

    func testDigestSeesEveryByte() {
        func digest(_ bytes: [UInt8]) -> UInt64 {
            var value = Digest64()
            bytes.withUnsafeBytes { value.combine($0) }
            return value.value
        }
        let base = Array(0..<UInt8(21))
        var seen: Set<UInt64> = [digest(base), digest(Array(base.dropLast()))]
        for index in base.indices {
            var changed = base
            changed[index] ^= 1
            seen.insert(digest(changed))
        }
        XCTAssertEqual(seen.count, base.count + 2)
    }
}
