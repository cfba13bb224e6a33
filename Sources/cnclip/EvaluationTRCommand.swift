import ArgumentParser

/// `cnclip evaluation-tr`: the reference's `cn_clip/eval/evaluation_tr.py` (image-to-text Recall@1/5/10).
struct EvaluationTRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluation-tr",
        abstract: "Score image-to-text top-10 predictions against ground truth; write the reference's result JSON.",
        discussion: "Exit status 1 when the submission is rejected (the reference exits 0); the output file is written either way."
    )

    @Argument(help: "Ground-truth JSONL ({\"image_id\": …, \"text_ids\": […]} per line).")
    var groundTruth: String

    @Argument(help: "Prediction JSONL ({\"image_id\": …, \"text_ids\": [10 ids]} per line).")
    var predictions: String

    @Argument(help: "Output JSON file.")
    var output: String

    func run() throws {
        try runRecallEvaluation(groundTruth: groundTruth, predictions: predictions, output: output, direction: .imageToText)
    }
}
