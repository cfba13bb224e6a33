import Foundation

/// The group of one process that a plain `cnclip` invocation (no `mpirun`) forms: every collective returns its
/// own input, so code written for a group runs unchanged and exactly as a single-process program.
public final class SingleProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank = 0
    public let worldSize = 1
    public let localRank: Int
    public let hostName: String
    public let statistics = CommunicationStatistics()

    /// `localRank` is what `LOCAL_RANK` said (0 when unset); it only labels logs.
    public init(localRank: Int = 0) {
        self.localRank = localRank
        hostName = ProcessInfo.processInfo.hostName
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction { Completed() }

    public func allGather(_ values: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws {
        guard result.count == values.count else {
            throw DistributedError.invalidArgument("allGather: result holds \(result.count) values, expected \(values.count)")
        }
        for index in values.indices { result[index] = values[index] }
    }

    public func allGather(_ values: [UInt64]) throws -> [[UInt64]] { [values] }
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] { bytes }
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes] }
    public func barrier() throws {}

    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }

    public func finalize() {}
}

/// A reduction that completed when it started (a group of one).
private final class Completed: PendingReduction {
    func test() throws -> Bool { true }
    func wait() throws {}
}
