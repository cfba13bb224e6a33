import CMPI
import Foundation

/// The process group of an `mpirun` launch, over MPI's `MPI_COMM_WORLD`: the only file that calls MPI.
///
/// MPI is initialised with `MPI_THREAD_FUNNELED` (only the main thread communicates; compute threads never do)
/// and errors are returned rather than fatal, so a failed call becomes a `DistributedError.mpi` that the caller
/// turns into an `abort` naming this rank. A process that dies (a signal, the OOM killer) is noticed by `mpirun`,
/// which ends the other ranks and names the one that died.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let worldSize: Int
    public let localRank: Int
    /// The number of ranks on this machine.
    public let localSize: Int
    public let hostName: String
    public let statistics = CommunicationStatistics()
    private let world: MPI_Comm
    /// MPI's int counts: large buffers travel in pieces of at most this many elements.
    private static let maximumCount = 1 << 30

    /// Initialises MPI (once per process) and reads this process's place in the group.
    /// - Throws: `DistributedError.mpi` when MPI cannot start.
    public init() throws {
        var provided: Int32 = 0
        try Self.check("MPI_Init_thread", MPI_Init_thread(nil, nil, cnclip_mpi_thread_funneled(), &provided))
        world = cnclip_mpi_comm_world()
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(world, cnclip_mpi_errors_return()))
        var value: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(world, &value))
        rank = Int(value)
        try Self.check("MPI_Comm_size", MPI_Comm_size(world, &value))
        worldSize = Int(value)
        var node: MPI_Comm?
        try Self.check("MPI_Comm_split_type",
                       MPI_Comm_split_type(world, cnclip_mpi_comm_type_shared(), 0, cnclip_mpi_info_null(), &node))
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(node, &value))
        localRank = Int(value)
        try Self.check("MPI_Comm_size", MPI_Comm_size(node, &value))
        localSize = Int(value)
        MPI_Comm_free(&node)
        var name = [CChar](repeating: 0, count: Int(cnclip_mpi_max_processor_name()) + 1)
        var length: Int32 = 0
        if MPI_Get_processor_name(&name, &length) == cnclip_mpi_success() {
            hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            hostName = ProcessInfo.processInfo.hostName
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try statistics.record(reduced: buffer.count * 4) {
            try pieces(buffer.count) { start, count in
                try Self.check("MPI_Allreduce", MPI_Allreduce(cnclip_mpi_in_place(), buffer.baseAddress! + start, count,
                                                              cnclip_mpi_float(), cnclip_mpi_sum(), world))
            }
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try statistics.record(reduced: buffer.count * 8) {
            try pieces(buffer.count) { start, count in
                try Self.check("MPI_Allreduce", MPI_Allreduce(cnclip_mpi_in_place(), buffer.baseAddress! + start, count,
                                                              cnclip_mpi_double(), cnclip_mpi_sum(), world))
            }
        }
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        guard buffer.count <= Self.maximumCount else {
            throw DistributedError.invalidArgument("a nonblocking all-reduce of \(buffer.count) values exceeds MPI's count limit")
        }
        let pending = NonblockingReduction(statistics: statistics)
        try statistics.record(reduced: buffer.count * 4) {
            try Self.check("MPI_Iallreduce", MPI_Iallreduce(cnclip_mpi_in_place(), buffer.baseAddress, Int32(buffer.count),
                                                            cnclip_mpi_float(), cnclip_mpi_sum(), world, &pending.request))
        }
        return pending
    }

    /// An `MPI_Iallreduce` in flight; the time spent testing and waiting for it counts as time in collectives.
    private final class NonblockingReduction: PendingReduction {
        var request: MPI_Request? = cnclip_mpi_request_null()
        private var done = false
        private let statistics: CommunicationStatistics

        init(statistics: CommunicationStatistics) { self.statistics = statistics }

        func test() throws -> Bool {
            guard !done else { return true }
            var flag: Int32 = 0
            try statistics.record { try MPICommunicator.check("MPI_Test", MPI_Test(&request, &flag, cnclip_mpi_status_ignore())) }
            done = flag != 0
            return done
        }

        func wait() throws {
            guard !done else { return }
            try statistics.record { try MPICommunicator.check("MPI_Wait", MPI_Wait(&request, cnclip_mpi_status_ignore())) }
            done = true
        }

        deinit {
            // Never leave MPI writing into a buffer its owner may free: an abandoned reduction is completed here.
            if !done { MPI_Wait(&request, cnclip_mpi_status_ignore()) }
        }
    }

    public func allGather(_ values: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>) throws {
        guard result.count == values.count * worldSize else {
            throw DistributedError.invalidArgument(
                "allGather: result holds \(result.count) values, expected \(values.count) × \(worldSize) ranks")
        }
        guard values.count <= Self.maximumCount else {
            throw DistributedError.invalidArgument("allGather of \(values.count) values exceeds MPI's count limit")
        }
        guard values.count > 0 else { return }
        try statistics.record(gathered: values.count * 4) {
            try Self.check("MPI_Allgather", MPI_Allgather(values.baseAddress, Int32(values.count), cnclip_mpi_float(),
                                                          result.baseAddress, Int32(values.count), cnclip_mpi_float(), world))
        }
    }

    public func allGather(_ values: [UInt64]) throws -> [[UInt64]] {
        var result = [UInt64](repeating: 0, count: values.count * worldSize)
        try statistics.record(gathered: values.count * 8) {
            try Self.check("MPI_Allgather", MPI_Allgather(values, Int32(values.count), cnclip_mpi_uint64(),
                                                          &result, Int32(values.count), cnclip_mpi_uint64(), world))
        }
        return (0..<worldSize).map { Array(result[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var count = UInt64(bytes.count)
        try Self.check("MPI_Bcast", MPI_Bcast(&count, 1, cnclip_mpi_uint64(), Int32(root), world))
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try statistics.record(gathered: result.count) {
            try result.withUnsafeMutableBufferPointer { buffer in
                try pieces(buffer.count) { start, count in
                    try Self.check("MPI_Bcast", MPI_Bcast(buffer.baseAddress! + start, count, cnclip_mpi_byte(),
                                                          Int32(root), world))
                }
            }
        }
        return result
    }

    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        guard bytes.count <= Self.maximumCount else {
            throw DistributedError.invalidArgument("gather of \(bytes.count) bytes exceeds MPI's count limit")
        }
        var count = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: worldSize)
        try Self.check("MPI_Gather", MPI_Gather(&count, 1, cnclip_mpi_int32(), &counts, 1, cnclip_mpi_int32(), Int32(root), world))
        var displacements = [Int32](repeating: 0, count: worldSize)
        var total = 0
        for index in 0..<worldSize {
            guard total <= Self.maximumCount else {
                throw DistributedError.invalidArgument("gather of \(total) bytes exceeds MPI's count limit")
            }
            displacements[index] = Int32(total)
            total += Int(counts[index])
        }
        var received = [UInt8](repeating: 0, count: rank == root ? total : 0)
        try statistics.record(gathered: bytes.count) {
            try Self.check("MPI_Gatherv", MPI_Gatherv(bytes, count, cnclip_mpi_byte(), &received, &counts, &displacements,
                                                      cnclip_mpi_byte(), Int32(root), world))
        }
        guard rank == root else { return nil }
        return (0..<worldSize).map {
            Array(received[Int(displacements[$0])..<(Int(displacements[$0]) + Int(counts[$0]))])
        }
    }

    public func barrier() throws {
        try statistics.record { try Self.check("MPI_Barrier", MPI_Barrier(world)) }
    }

    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        MPI_Abort(world, code)
        exit(code)
    }

    public func finalize() { MPI_Finalize() }

    /// Runs `body(start, count)` over `total` elements in pieces that fit MPI's int counts.
    private func pieces(_ total: Int, _ body: (Int, Int32) throws -> Void) throws {
        var start = 0
        while start < total {
            let count = min(total - start, Self.maximumCount)
            try body(start, Int32(count))
            start += count
        }
    }

    fileprivate static func check(_ call: String, _ code: Int32) throws {
        guard code != cnclip_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(cnclip_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw DistributedError.mpi(call: call, code: code,
                                   message: String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
