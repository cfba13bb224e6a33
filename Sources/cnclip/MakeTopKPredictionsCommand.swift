import ArgumentParser
import Retrieval

/// Flags of `make_topk_predictions.py` and `make_topk_predictions_tr.py`.
struct TopKPredictionOptions: ParsableArguments {
    @Option(name: .customLong("image-feats"), help: "Image feature JSONL ({\"image_id\": …, \"feature\": […]} per line).")
    var imageFeatures: String

    @Option(name: .customLong("text-feats"), help: "Text feature JSONL ({\"text_id\": …, \"feature\": […]} per line).")
    var textFeatures: String

    @Option(name: .customLong("top-k"), help: "Predictions per query.")
    var topK = 10

    @Option(name: .customLong("eval-batch-size"),
            help: "Gallery rows scored per block (memory only: results do not depend on it; capped at \(TopKPredictions.maximumBlockRows)).")
    var evalBatchSize = 32768

    @Option(name: .long, help: "Output prediction JSONL.")
    var output: String

    func validate() throws {
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative") }
        guard evalBatchSize > 0 else { throw ValidationError("--eval-batch-size must be positive") }
    }

    func run(_ direction: RetrievalDirection) throws {
        try TopKPredictions.run(imageFeatures: imageFeatures, textFeatures: textFeatures, topK: topK,
                                evalBatchSize: evalBatchSize, output: output, direction: direction,
                                print: { print($0) }, progress: printToStandardError)
    }
}

/// `cnclip make-topk-predictions`: the reference's `cn_clip/eval/make_topk_predictions.py` (text → image).
struct MakeTopKPredictionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-topk-predictions",
        abstract: "Exact top-k images for every text by inner product: {\"text_id\": …, \"image_ids\": […]} per line.")

    @OptionGroup var options: TopKPredictionOptions

    func run() throws { try options.run(.textToImage) }
}

/// `cnclip make-topk-predictions-tr`: the reference's `cn_clip/eval/make_topk_predictions_tr.py` (image → text).
struct MakeTopKPredictionsTRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-topk-predictions-tr",
        abstract: "Exact top-k texts for every image by inner product: {\"image_id\": …, \"text_ids\": […]} per line.")

    @OptionGroup var options: TopKPredictionOptions

    func run() throws { try options.run(.imageToText) }
}
