import Foundation

/// Joining the process group this process was started in, and leaving it cleanly or with an error.
///
/// Rank and world size come from MPI when `mpirun` (Open MPI, or any PMI/PMIx launcher) started the process, and
/// the group is then every process of that launch, on any number of machines. The reference's torch launcher
/// variables keep a meaning here:
/// - `WORLD_SIZE`, `RANK`: when set, they must agree with what MPI says (a launch script that exports them for the
///   reference still describes the job); without `mpirun`, `WORLD_SIZE` above 1 or `RANK` above 0 is an error,
///   since there is no rendezvous to reach the other ranks with (start the job with `mpirun -np N` instead).
/// - `LOCAL_RANK`: the index of the process on its machine. Under `mpirun` it must agree with MPI's (ranks that
///   share a machine, by `MPI_COMM_TYPE_SHARED`); without it, it only labels the log (`local_device_rank`).
/// `MASTER_ADDR`/`MASTER_PORT` are not used: `mpirun`'s host list and its own wire-up replace them.
///
/// Threads: unless `CNCLIP_NUM_THREADS` is set, a rank that mpirun bound to some cores takes that many threads,
/// and an unbound one cores ÷ (ranks on its machine), so that ranks × threads never oversubscribe a machine (set
/// it, and mpirun's `--map-by`/`--bind-to`, to size them yourself).
public enum ProcessGroup {
    /// Whether a process launcher (mpirun/orterun, Hydra, PMIx) started this process.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherWorldSize(environment) != nil || environment["PMIX_RANK"] != nil
    }

    /// The number of processes the MPI launcher started (from its environment, before MPI is initialised), or nil
    /// when no launcher that says so started this one.
    public static func launcherWorldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }

    /// This process's rank as the MPI launcher's environment gives it (before MPI is initialised), or nil.
    public static func launcherRank(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        ["OMPI_COMM_WORLD_RANK", "PMI_RANK"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }

    /// The group of this process: MPI's world under a launcher, otherwise a group of one.
    /// - Throws: `DistributedError.launch` when the torch variables ask for a group this launch cannot form or
    ///   disagree with MPI (under MPI, after initialising it, so the caller can abort every rank), or
    ///   `DistributedError.mpi` when MPI fails to start.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator {
        let worldSize = try integer("WORLD_SIZE", environment)
        let rank = try integer("RANK", environment)
        let localRank = try integer("LOCAL_RANK", environment)
        guard launchedByMPI(environment) else {
            if let worldSize, worldSize > 1 {
                throw DistributedError.launch("WORLD_SIZE=\(worldSize) is set but this process was not started by mpirun; "
                    + "ranks come from MPI here: run `mpirun -np \(worldSize) cnclip …`")
            }
            if let rank, rank != 0 {
                throw DistributedError.launch("RANK=\(rank) is set but this process was not started by mpirun "
                    + "(a single process is rank 0)")
            }
            return SingleProcessCommunicator(localRank: localRank ?? 0)
        }
        let group = try MPICommunicator()
        if environment["CNCLIP_NUM_THREADS"] == nil {
            setenv("CNCLIP_NUM_THREADS", String(defaultThreads(ranksOnMachine: group.localSize)), 1)
        }
        for (name, given, actual) in [("WORLD_SIZE", worldSize, group.worldSize), ("RANK", rank, group.rank),
                                      ("LOCAL_RANK", localRank, group.localRank)] {
            if let given, given != actual {
                group.abort(message: "cnclip: rank \(group.rank) of \(group.worldSize) on \(group.hostName): "
                            + "\(name)=\(given) is set but MPI says \(actual); unset it or launch consistently", code: 2)
            }
        }
        return group
    }

    /// Runs `body` as this rank's whole job. In a group of one, errors propagate unchanged (the command reports
    /// them as it always has). In a group of several, an error writes `cnclip: rank R of N on HOST: error: …` to
    /// stderr and aborts every rank, so a failing rank never leaves the others waiting in a collective; success
    /// leaves the group (`MPI_Finalize`).
    public static func run(_ group: Communicator, _ body: () throws -> Void) throws {
        guard group.isDistributed else { return try body() }
        do {
            try body()
        } catch {
            group.abort(message: failureMessage(group, error), code: 1)
        }
        group.finalize()
    }

    /// The message a failed rank of a group of several ends with.
    public static func failureMessage(_ group: Communicator, _ error: Error) -> String {
        "cnclip: rank \(group.rank) of \(group.worldSize) on \(group.hostName): error: \(error)"
    }

    /// Threads for a rank that was not told: the cores mpirun bound it to when it bound it to fewer than all
    /// (`--bind-to core`, `--map-by …:PE=n`), otherwise the machine's cores shared among its ranks.
    public static func defaultThreads(ranksOnMachine: Int) -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let allowed = allowedCores(), allowed > 0, allowed < cores { return allowed }
        return max(1, cores / max(ranksOnMachine, 1))
    }

    /// The number of cores this process may run on (Linux: the `Cpus_allowed` mask of /proc/self/status).
    public static func allowedCores() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        return mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
    }

    private static func integer(_ name: String, _ environment: [String: String]) throws -> Int? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw DistributedError.launch("\(name)=\(text) is not a non-negative integer")
        }
        return value
    }
}
