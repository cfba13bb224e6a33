import Foundation
import Imaging
import Models
import Tensor
import Tokenizer

/// Zero-shot image classification as the reference's `zeroshot_evaluation.py` does it: each class is the mean of
/// its prompts' unit text features (every template applied to the label, `_preprocess_text`, tokenised, encoded,
/// L2-normalised), normalised again; an image's class probabilities are softmax(100 · f · W) over its unit feature f.
public struct ZeroShotClassifier: Sendable {
    /// The model, preprocessing and tokenizer.
    public let model: LoadedCLIP
    /// The class names, in label order.
    public let labels: [String]
    /// The prompt templates each class embedding averages over.
    public let templates: [PromptTemplate]
    /// The unit class embeddings, one row per label: `[C, embed_dim]` (the reference's classifier transposed).
    public let classEmbeddings: Tensor
    /// The fixed logit scale of the reference's zero-shot script (not the model's `logit_scale`).
    public static let logitScale: Float = 100

    /// Builds the class embeddings.
    /// - Parameters:
    ///   - contextLength: token context length of the prompts (the script's `--context-length`, 52).
    ///   - progress: called with the number of classes done after each class.
    /// - Throws: `ZeroShotError.invalidInput` without labels or templates; tokenizer and model errors.
    public init(model: LoadedCLIP, labels: [String], templates: [PromptTemplate],
                contextLength: Int = Tokenizer.defaultContextLength, progress: ((Int) -> Void)? = nil) throws {
        guard !labels.isEmpty else { throw ZeroShotError.invalidInput("a zero-shot classifier needs at least one label") }
        guard !templates.isEmpty else { throw ZeroShotError.invalidInput("a zero-shot classifier needs at least one template") }
        self.model = model
        self.labels = labels
        self.templates = templates
        let width = model.model.config.embedDim
        let embeddings = Tensor(zeros: [labels.count, width])
        for (index, label) in labels.enumerated() {
            let prompts = templates.map { preprocessText($0(label)) }
            let tokens = try model.tokenizer.tokenize(prompts, contextLength: contextLength)
            let features = l2Normalize(try model.model.encodeText(tokens)).output
            let classEmbedding = l2Normalize(try mean(features, axis: 0)).output
            classEmbedding.contiguous().copyElements(to: embeddings.storage.pointer + index * width)
            progress?(index + 1)
        }
        classEmbeddings = embeddings
    }

    /// Class probabilities `[N, C]` of preprocessed images `[N, 3, R, R]`.
    public func classify(_ images: Tensor) throws -> Tensor {
        let features = l2Normalize(try model.model.encodeImage(images)).output
        let logits = try matmul(scale(features, by: Self.logitScale), classEmbeddings, transposeB: true)
        return try softmax(lastAxisOf: logits)
    }

    /// Class probabilities `[N, C]` of image files, preprocessed as the zero-shot path does (RGB conversion first).
    /// - Parameter workers: threads that decode images (0: the calling thread).
    /// - Throws: `ZeroShotError.unreadableImage` naming the first file that cannot be decoded.
    public func classify(imageFiles paths: [String], workers: Int = 0) throws -> Tensor {
        try classify(zeroShotImageBatch(paths, preprocessor: model.preprocessor, workers: workers).images)
    }
}
