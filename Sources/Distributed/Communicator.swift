import Foundation

/// The collectives data-parallel training and sharded extraction need, over a group of `worldSize` processes
/// numbered `0..<worldSize`. Every rank must call the same collectives in the same order with matching sizes
/// (MPI's rule); a rank that cannot go on calls `abort`, which ends every rank.
///
/// `MPICommunicator` is the implementation for processes started by `mpirun`; `SingleProcessCommunicator` is the
/// group of one that a plain `cnclip` invocation uses (every collective is then the identity).
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in the group.
    var rank: Int { get }
    /// The number of processes in the group.
    var worldSize: Int { get }
    /// This process's index among the group's processes on the same machine.
    var localRank: Int { get }
    /// The machine's name (MPI's processor name), for messages.
    var hostName: String { get }
    /// Time and bytes spent in collectives so far.
    var statistics: CommunicationStatistics { get }

    /// Replaces `buffer` on every rank by the element-wise sum of every rank's `buffer` (same count everywhere).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every rank by the element-wise sum of every rank's `buffer` (same count everywhere).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Starts replacing `buffer` on every rank by the element-wise sum of every rank's `buffer` and returns at once;
    /// the buffer must stay untouched (and alive) until the returned reduction has completed. Collectives started
    /// this way count as collectives in MPI's ordering rule.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
    /// Fills `result` (`worldSize × values.count` elements) with every rank's `values` in rank order.
    func allGather(_ values: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws
    /// Every rank's `values` (same count everywhere) in rank order.
    func allGather(_ values: [UInt64]) throws -> [[UInt64]]
    /// Rank `root`'s `bytes` on every rank (other ranks' arguments are ignored).
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Every rank's `bytes` (any length) in rank order on rank `root`; nil on the other ranks.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]?
    /// Returns once every rank has called it.
    func barrier() throws
    /// Writes `message` to stderr and ends every rank of the group with exit status `code`.
    func abort(message: String, code: Int32) -> Never
    /// Leaves the group at the end of a successful run.
    func finalize()
}

/// A collective started by `startAllReduceSum` that may still be in flight.
public protocol PendingReduction: AnyObject {
    /// Lets the library advance the operation (MPI progresses nonblocking collectives only inside its calls) and
    /// says whether it has completed.
    func test() throws -> Bool
    /// Returns once the operation has completed.
    func wait() throws
}

/// Running totals of the time and payload of collective operations (for the scaling benchmark).
public final class CommunicationStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var _seconds = 0.0
    private var _bytesReduced = 0
    private var _bytesGathered = 0
    private var _calls = 0

    public init() {}

    /// Seconds spent inside collectives.
    public var seconds: Double { lock.withLock { _seconds } }
    /// Bytes this rank contributed to all-reduce operations.
    public var bytesReduced: Int { lock.withLock { _bytesReduced } }
    /// Bytes this rank contributed to all-gather and gather operations.
    public var bytesGathered: Int { lock.withLock { _bytesGathered } }
    /// Collective calls made.
    public var calls: Int { lock.withLock { _calls } }

    /// Times `body` and adds its payload to the totals.
    public func record<T>(reduced: Int = 0, gathered: Int = 0, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.withLock {
                _seconds += elapsed
                _bytesReduced += reduced
                _bytesGathered += gathered
                _calls += 1
            }
        }
        return try body()
    }
}

extension Communicator {
    /// Whether more than one process takes part.
    public var isDistributed: Bool { worldSize > 1 }
    /// Whether this is rank 0, the one that writes logs, parameters and checkpoints.
    public var isPrimary: Bool { rank == 0 }

    /// Element-wise sums over the ranks of a few doubles (validation totals).
    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return result
    }

    /// Rank `root`'s string on every rank.
    public func broadcast(_ text: String, root: Int) throws -> String {
        String(decoding: try broadcast(Array(text.utf8), root: root), as: UTF8.self)
    }

    /// Rank `root`'s number on every rank.
    public func broadcast(_ value: UInt64, root: Int) throws -> UInt64 {
        let bytes = try broadcast(withUnsafeBytes(of: value.littleEndian) { Array($0) }, root: root)
        guard bytes.count == 8 else { throw DistributedError.invalidArgument("broadcast of a UInt64 got \(bytes.count) bytes") }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// Checks that every rank's `digests` equal rank 0's; `names[i]` says what digest i covers.
    /// - Throws: `DistributedError.rankMismatch` naming the first rank (and what) that differs.
    public func requireAgreement(_ digests: [UInt64], names: [String]) throws {
        guard worldSize > 1 else { return }
        let all = try allGather(digests)
        for (otherRank, theirs) in all.enumerated() where otherRank > 0 {
            for index in digests.indices where theirs[index] != all[0][index] {
                throw DistributedError.rankMismatch(rank: otherRank, what: names[index])
            }
        }
    }
}

/// A 64-bit FNV-1a-style digest taken a 64-bit word at a time (fast enough for a model's weights at start-up),
/// for checking that every rank holds the same configuration and weights. Not cryptographic.
public struct Digest64: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    /// Mixes `bytes` (and their count) into the digest.
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var hash = value ^ UInt64(bytes.count)
        hash &*= 0x0000_0100_0000_01B3
        let words = bytes.count / 8
        for index in 0..<words {
            hash ^= bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
            hash &*= 0x0000_0100_0000_01B3
            hash ^= hash >> 29
        }
        for index in (words * 8)..<bytes.count {
            hash ^= UInt64(bytes[index])
            hash &*= 0x0000_0100_0000_01B3
        }
        value = hash
    }

    /// Mixes the UTF-8 bytes of `text` into the digest.
    public mutating func combine(_ text: String) {
        var copy = text
        copy.withUTF8 { combine(UnsafeRawBufferPointer($0)) }
    }
}
