import ArgumentParser
import Checkpoint
import Foundation
import Models
import SearchIndex
import Tensor

/// `cnclip bench serve-gallery`: what `Scripts/bench/serve.sh` serves: a random-weight checkpoint of the model the
/// flags name and an index of `--rows` random unit features built for it (records point at no real file).
struct ServeGalleryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-gallery",
        abstract: "Write a random-weight checkpoint and an index of N random features, for Scripts/bench/serve.sh.")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Rows in the gallery.")
    var rows: Int

    @Option(name: .long, help: "The index directory to create (must not exist).")
    var index: String

    @Option(name: .customLong("checkpoint-out"), help: "Where to write the random-weight checkpoint (.safetensors); reused when it exists.")
    var checkpointOut: String

    func validate() throws {
        guard rows > 0 else { throw ValidationError("--rows must be positive") }
        guard !FileManager.default.fileExists(atPath: index) else { throw ValidationError("--index \(index) exists already") }
        guard checkpointOut.hasSuffix(".safetensors") else { throw ValidationError("--checkpoint-out must end in .safetensors") }
    }

    func run() throws {
        let config = try model.config()
        let checkpoint = URL(fileURLWithPath: checkpointOut)
        if !FileManager.default.fileExists(atPath: checkpointOut) {
            let clip = try randomWeightModel(model)
            let entries = try clip.stateEntries().map { entry -> (String, StoredTensor) in
                if entry.kind == .integerBuffer {
                    return (entry.name, try StoredTensor(int64: entry.tensor.contiguous().toArray().map { Int64($0) },
                                                         shape: entry.tensor.shape))
                }
                return (entry.name, try StoredTensor(entry.tensor.contiguous()))
            }
            try SafeTensors.write(StateDict(entries), metadata: ["note": "random weights for benchmarks"], to: checkpoint)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let identity = try ImageIndexer.identity(visionModel: model.visionModel, textModel: model.textModel,
                                                 configJSON: String(decoding: try encoder.encode(config), as: UTF8.self),
                                                 checkpoint: checkpoint)
        let loaded = try CLIPModel.load(config: config, checkpoint: checkpoint)
        let indexer = try ImageIndexer(directory: URL(fileURLWithPath: index), embedder: CLIPImageEmbedder(loaded),
                                       model: identity)
        let dimension = config.embedDim, chunk = 100_000
        var generator = SplitMix(state: 42)
        let start = Date()
        for first in stride(from: 0, to: rows, by: chunk) {
            let count = min(chunk, rows - first)
            var features = [Float](repeating: 0, count: count * dimension)
            for row in 0..<count {
                var norm: Float = 0
                for d in 0..<dimension {
                    let value = Float(generator.next() >> 40) / Float(1 << 24) - 0.5
                    features[row * dimension + d] = value
                    norm += value * value
                }
                let scale = 1 / norm.squareRoot()
                for d in 0..<dimension { features[row * dimension + d] *= scale }
            }
            let paths = (first..<(first + count)).map { String(format: "/bench-gallery/%08d.jpg", $0) }
            try indexer.appendSyntheticRows(features: features, paths: paths, width: 224, height: 224)
            FileHandle.standardError.write(Data("\(first + count)/\(rows) rows (\(Int(Double(first + count) / Date().timeIntervalSince(start))) rows/s)\n".utf8))
        }
    }
}

/// SplitMix64: deterministic galleries.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
