import ArgumentParser
import Foundation
import Models
import Quantized
import Tensor

/// `cnclip bench quality`: how far bf16 / int8 features are from fp32 on a full-size random-weight model: cosine per
/// image and per text (mean, minimum) and the overlap of each image's top-10 texts.
struct QualityBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Cosine of bf16/int8 features to fp32 (mean, min) and top-10 overlap, random weights.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var activations: ActivationScalingOption

    @Option(help: "Images and texts to encode.")
    var count = 64

    @Option(help: "Reduced precisions to compare with fp32, comma-separated (bf16 is skipped where unavailable).")
    var precisions = "int8,bf16"

    @Option(name: .customLong("context-length"), help: "Tokens per text.")
    var contextLength = 52

    @Flag(help: "One JSON object per precision.")
    var json = false

    func run() throws {
        let clip = try randomWeightModel(model)
        let resolution = clip.config.imageResolution
        let images = try benchTensor([count, 3, resolution, resolution], seed: 21)
        let tokens = benchTokens(count: count, length: contextLength)
        func features() throws -> (image: Tensor, text: Tensor) {
            var imageRows: [Tensor] = [], textRows: [Tensor] = []
            for start in stride(from: 0, to: count, by: 8) {
                let end = min(start + 8, count)
                imageRows.append(try clip.encodeImage(images.sliced(axis: 0, range: start..<end).contiguous()))
                textRows.append(try clip.encodeText(Array(tokens[start..<end])))
            }
            return (l2Normalize(try concatenateRows(imageRows)).output, l2Normalize(try concatenateRows(textRows)).output)
        }
        let reference = try features()
        for name in precisions.split(separator: ",").map(String.init) {
            guard let precision = InferencePrecision(rawValue: name) else { throw ValidationError("unknown precision \(name)") }
            do { try precision.checkSupported() } catch {
                print(json ? "{\"precision\": \"\(name)\", \"skipped\": \"\(error)\"}" : "\(name): skipped, \(error)")
                continue
            }
            try clip.use(precision: precision, keepFloatWeights: true, activationScaling: activations.activationScaling)
            let reduced = try features()
            let imageCosines = rowDots(reference.image, reduced.image), textCosines = rowDots(reference.text, reduced.text)
            let overlap = try topOverlap(reference: reference, reduced: reduced, k: min(10, count))
            let fields: [(String, Double)] = [
                ("image_cosine_mean", mean(imageCosines)), ("image_cosine_min", imageCosines.min() ?? .nan),
                ("text_cosine_mean", mean(textCosines)), ("text_cosine_min", textCosines.min() ?? .nan),
                ("top10_overlap", overlap),
            ]
            if json {
                print("{\"precision\": \"\(name)\", \"count\": \(count), "
                      + fields.map { "\"\($0.0)\": \(String(format: "%.5f", $0.1))" }.joined(separator: ", ") + "}")
            } else {
                print("\(name) vs fp32, \(count) images and texts: "
                      + fields.map { "\($0.0) \(String(format: "%.4f", $0.1))" }.joined(separator: ", "))
            }
        }
    }

    private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }

    /// Dot products of matching rows (cosines of L2-normalised rows).
    private func rowDots(_ a: Tensor, _ b: Tensor) -> [Double] {
        let x = a.toArray(), y = b.toArray(), width = a.shape[1]
        return (0..<a.shape[0]).map { row in
            (0..<width).reduce(0.0) { $0 + Double(x[row * width + $1]) * Double(y[row * width + $1]) }
        }
    }

    /// Mean fraction of each image's top-k texts (by cosine) that both precisions share.
    private func topOverlap(reference: (image: Tensor, text: Tensor), reduced: (image: Tensor, text: Tensor),
                            k: Int) throws -> Double {
        func top(_ features: (image: Tensor, text: Tensor)) throws -> [Set<Int>] {
            let scores = try matmul(features.image, features.text, transposeB: true).toArray()
            return (0..<count).map { row in
                Set((0..<count).sorted { scores[row * count + $0] > scores[row * count + $1] }.prefix(k))
            }
        }
        let a = try top(reference), b = try top(reduced)
        return mean(zip(a, b).map { Double($0.intersection($1).count) / Double(k) })
    }

    /// Rows of several `[n, d]` tensors stacked.
    private func concatenateRows(_ parts: [Tensor]) throws -> Tensor {
        let width = parts[0].shape[1]
        return try Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }, width], data: parts.flatMap { $0.toArray() })
    }
}
