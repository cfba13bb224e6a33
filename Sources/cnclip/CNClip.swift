import ArgumentParser
import Distributed
import Foundation

/// `cnclip`: Chinese-CLIP in Swift. Subcommands are named after the reference's scripts.
@main
struct CNClip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnclip",
        abstract: "Chinese-CLIP image–text features, retrieval, zero-shot classification and finetuning on the CPU.",
        subcommands: [
            SimilarityCommand.self,
            EncodeImageCommand.self,
            EncodeTextCommand.self,
            ModelsCommand.self,
            TokenizeCommand.self,
            ConvertCommand.self,
            ExportONNXCommand.self,
            BuildLMDBCommand.self,
            ExtractFeaturesCommand.self,
            MakeTopKPredictionsCommand.self,
            MakeTopKPredictionsTRCommand.self,
            EvaluationCommand.self,
            EvaluationTRCommand.self,
            TransformIRAnnotationCommand.self,
            ZeroShotEvalCommand.self,
            TrainCommand.self,
            DemoCommand.self,
            PlotLogCommand.self,
            BenchCommand.self,
            IndexCommand.self,
            ServeCommand.self,
            TrainStepDumpCommand.self,
        ]
    )

    /// Parses, refuses one-process commands started as several MPI ranks, and runs.
    static func main() async {
        do {
            var command = try parseAsRoot()
            do {
                try refuseUnsupportedRanks(command)
            } catch {
                // Every rank refuses; rank 0 alone says why.
                if (ProcessGroup.launcherRank() ?? 0) != 0 { Foundation.exit(1) }
                throw error
            }
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
