/// Errors of the process group: a failed MPI call, an inconsistent launch, or a rank that disagrees with rank 0.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    /// An MPI call returned an error code (with MPI's own description of it).
    case mpi(call: String, code: Int32, message: String)
    /// The environment describes a launch this process cannot honour (e.g. `WORLD_SIZE=2` without `mpirun`).
    case launch(String)
    /// Rank `rank` holds something (`what`) that differs from rank 0's.
    case rankMismatch(rank: Int, what: String)
    /// A collective's inputs do not fit (e.g. different element counts on different ranks).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .mpi(call, code, message): return "\(call) failed (MPI error \(code)): \(message)"
        case let .launch(reason): return "launch: \(reason)"
        case let .rankMismatch(rank, what): return "rank \(rank) differs from rank 0: \(what)"
        case let .invalidArgument(reason): return reason
        }
    }
}
