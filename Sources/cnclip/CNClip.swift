import ArgumentParser

/// `cnclip`: Chinese-CLIP in Swift. Subcommands are named after the reference's scripts.
@main
struct CNClip: ParsableCommand {
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
            TrainStepDumpCommand.self,
        ]
    )
}
