import ArgumentParser
import Distributed
import Foundation

/// A command that shares its work over the ranks of an `mpirun` job (the others run in one process).
protocol RunsAcrossRanks {}

extension TrainCommand: RunsAcrossRanks {}
extension ExtractFeaturesCommand: RunsAcrossRanks {}
extension IndexAddCommand: RunsAcrossRanks {}
extension TrainStepDumpCommand: RunsAcrossRanks {}

/// A one-process command was started as several MPI ranks: each rank would repeat the whole job (and, for the
/// commands that write, contend for the same files or port), so it is refused before it starts.
struct UnsupportedRanksError: Error, CustomStringConvertible {
    let command: String
    let ranks: Int

    var description: String {
        "`cnclip \(command)` runs in one process, but this launch has \(ranks) ranks; under mpirun only train, "
            + "extract-features and index add share their work (start this command without mpirun, or with -np 1)"
    }
}

extension CNClip {
    /// Throws `UnsupportedRanksError` when `command` does not run across ranks and the MPI launcher started several.
    static func refuseUnsupportedRanks(_ command: ParsableCommand,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard !(command is RunsAcrossRanks), let ranks = ProcessGroup.launcherWorldSize(environment), ranks > 1 else { return }
        throw UnsupportedRanksError(command: type(of: command).configuration.commandName ?? "\(type(of: command))", ranks: ranks)
    }
}
