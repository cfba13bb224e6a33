import ArgumentParser
import Foundation
import Models
import Tensor
import Tokenizer

/// `cnclip similarity`: the README quick-start — label probabilities of each image over the given texts.
struct SimilarityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Label probabilities per image over the texts, as the reference's quick-start computes them.",
        discussion: """
            Weights are rounded to fp16 where the reference's load_from_name does so (even on a CPU), texts are \
            tokenised raw (no lower-casing) at context length 52, and probabilities are softmax(logits_per_image).
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .long, help: "An image file; repeat for several.")
    var image: [String]

    @Option(name: .long, help: "A candidate text (label); repeat for several.")
    var text: [String]

    @Flag(name: .long, help: "Print one JSON object per image instead of a table.")
    var json = false

    func validate() throws {
        guard !image.isEmpty, !text.isEmpty else { throw ValidationError("give at least one --image and one --text") }
    }

    func run() throws {
        let loaded = try loadModel(config: model.config(), checkpoint: checkpoint.url(), weightPrecision: .roundedToHalf,
                                   precision: precision.precision)
        let images = try loadImageBatch(image, preprocessor: loaded.preprocessor, order: .resizeThenConvert)
        let tokens = try loaded.tokenizer.tokenize(text, contextLength: Tokenizer.defaultContextLength)
        let logits = try loaded.model.similarity(images: images, tokens: tokens).logitsPerImage
        let probabilities = try softmax(lastAxisOf: logits).toArray()
        for (row, path) in image.enumerated() {
            let values = Array(probabilities[(row * text.count)..<((row + 1) * text.count)])
            if json {
                let object: [String: Any] = ["image": path, "texts": text, "probs": values.map(Double.init)]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(path):")
                let width = text.map(terminalWidth).max() ?? 0
                for (label, value) in zip(text, values) {
                    print("  " + padded(label, toColumns: width) + "  " + String(format: "%.6f", value))
                }
            }
        }
    }
}

/// `cnclip models`: the released pairings and the tower names the reference accepts.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the released models and the accepted vision and text tower names.")

    func run() throws {
        print("Released models (name: vision@text, input resolution, checkpoint file):")
        for model in ModelRegistry.releasedModels {
            print("  \(model.name): \(model.visionModel)@\(model.textModel), \(model.inputResolution), \(model.checkpointFileName)")
        }
        print("Vision towers: \(ModelRegistry.visionModels.joined(separator: ", "))")
        print("Text towers: \(ModelRegistry.textModels.joined(separator: ", "))")
    }
}
