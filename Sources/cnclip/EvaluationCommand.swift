import ArgumentParser
import Retrieval

/// `cnclip evaluation`: the reference's `cn_clip/eval/evaluation.py` (text-to-image Recall@1/5/10).
struct EvaluationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluation",
        abstract: "Score text-to-image top-10 predictions against ground truth; write the reference's result JSON.",
        discussion: "Exit status 1 when the submission is rejected (the reference exits 0); the output file is written either way."
    )

    @Argument(help: "Ground-truth JSONL ({\"text_id\": …, \"image_ids\": […]} per line).")
    var groundTruth: String

    @Argument(help: "Prediction JSONL ({\"text_id\": …, \"image_ids\": [10 ids]} per line).")
    var predictions: String

    @Argument(help: "Output JSON file.")
    var output: String

    func run() throws {
        try runRecallEvaluation(groundTruth: groundTruth, predictions: predictions, output: output, direction: .textToImage)
    }
}

/// Shared body of `evaluation` and `evaluation-tr`: the reference's stdout lines, the output file, the exit status.
func runRecallEvaluation(groundTruth: String, predictions: String, output: String, direction: RetrievalDirection) throws {
    let result = try RecallEvaluation.run(groundTruthPath: groundTruth, predictionPath: predictions, outputPath: output,
                                          direction: direction, print: { print($0) })
    if case .failure = result { throw ExitCode.failure }
}
