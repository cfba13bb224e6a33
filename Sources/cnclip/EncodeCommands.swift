import ArgumentParser
import Foundation
import Imaging
import Models
import Tensor
import Tokenizer

/// `cnclip encode-image`: one L2-normalised feature line per image, as the reference's extract script computes it.
struct EncodeImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-image",
        abstract: "Print {\"image\": PATH, \"feature\": [...]} per image: L2-normalised image features (exact fp32 weights).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize = 16

    @Argument(help: "Image files (JPEG, PNG, WebP, GIF, BMP).")
    var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one IMAGE") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let loaded = try loadModel(config: model.config(), checkpoint: checkpoint.url(), precision: precision.precision)
        for start in stride(from: 0, to: images.count, by: batchSize) {
            let paths = Array(images[start..<min(start + batchSize, images.count)])
            let batch = try loadImageBatch(paths, preprocessor: loaded.preprocessor, order: .resizeThenConvert)
            let features = l2Normalize(try loaded.model.encodeImage(batch)).output.toArray()
            let width = features.count / paths.count
            for (index, path) in paths.enumerated() {
                print(try featureLine(key: "image", name: path, feature: features[(index * width)..<((index + 1) * width)]))
            }
        }
    }
}

/// `cnclip encode-text`: one L2-normalised feature line per text, prepared as the reference's extract script does.
struct EncodeTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-text",
        abstract: "Print {\"text\": TEXT, \"feature\": [...]} per text: lower-cased and quote-normalised as the extract script does, L2-normalised.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .customLong("context-length"), help: "Token context length (≤ 512).")
    var contextLength = 52

    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.")
    var batchSize = 64

    @Argument(help: "Texts to encode.")
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one TEXT") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard (2...512).contains(contextLength) else { throw ValidationError("--context-length must be within 2...512") }
    }

    func run() throws {
        let loaded = try loadModel(config: model.config(), checkpoint: checkpoint.url(), precision: precision.precision)
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[start..<min(start + batchSize, texts.count)])
            let tokens = try loaded.tokenizer.tokenize(batch.map(preprocessText), contextLength: contextLength)
            let features = l2Normalize(try loaded.model.encodeText(tokens)).output.toArray()
            let width = features.count / batch.count
            for (index, text) in batch.enumerated() {
                print(try featureLine(key: "text", name: text, feature: features[(index * width)..<((index + 1) * width)]))
            }
        }
    }
}

/// Decodes and preprocesses image files into one `[N, 3, R, R]` batch, printing Pillow-compatibility warnings.
func loadImageBatch(_ paths: [String], preprocessor: ImagePreprocessor, order: ConversionOrder) throws -> Tensor {
    let resolution = preprocessor.resolution
    let batch = Tensor(zeros: [paths.count, 3, resolution, resolution])
    let plane = 3 * resolution * resolution
    for (index, path) in paths.enumerated() {
        let image = try preprocessor.tensor(contentsOf: URL(fileURLWithPath: path), order: order)
        for warning in image.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        image.tensor.contiguous().copyElements(to: batch.storage.pointer + index * plane)
    }
    return batch
}
