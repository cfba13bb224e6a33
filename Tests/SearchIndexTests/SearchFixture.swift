import Foundation
import Imaging
import Models
import SearchIndex
import Tensor
import TestSupport
import Tokenizer

/// The committed Fashion-MNIST model and images under `Tests/Fixtures/search` (see its README), loaded once.
enum SearchFixture {
    static let configURL = Fixtures.url("search/fashion-clip.config.json")
    static let checkpointURL = Fixtures.url("search/fashion-clip.safetensors")
    static let imagesURL = Fixtures.url("search/images")
    /// The class folders, in label order.
    static let classes = ["0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt", "7-sneaker",
                          "8-bag", "9-boot"]
    /// The context length the demo trained with.
    static let contextLength = 16

    static let loaded: Result<LoadedCLIP, Error> = Result {
        try CLIPModel.load(config: ModelRegistry.config(contentsOf: configURL), checkpoint: checkpointURL)
    }

    static func model() throws -> LoadedCLIP { try loaded.get() }

    static func identity() throws -> ModelIdentity {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let config = try ModelRegistry.config(contentsOf: configURL)
        return try ImageIndexer.identity(visionModel: "fashion-vit", textModel: "fashion-bert",
                                         configJSON: String(decoding: try encoder.encode(config), as: UTF8.self),
                                         checkpoint: checkpointURL)
    }

    /// The normalised text feature of `text`, prepared as the demo's captions were.
    static func textFeature(_ text: String) throws -> [Float] {
        let loaded = try model()
        let tokens = try loaded.tokenizer.tokenize([preprocessText(text)], contextLength: contextLength)
        return l2Normalize(try loaded.model.encodeText(tokens)).output.toArray()
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies the fixture images (all, or the first `perClass` of each class) into `folder`, keeping class folders.
    static func copyImages(to folder: URL, perClass: Int = .max) throws -> [String] {
        var copied: [String] = []
        for name in classes {
            let source = imagesURL.appendingPathComponent(name)
            let files = try FileManager.default.contentsOfDirectory(atPath: source.path).sorted().prefix(perClass)
            let target = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for file in files {
                try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
                copied.append(target.appendingPathComponent(file).path)
            }
        }
        return copied
    }
}

/// Wraps an embedder and counts the images it embeds.
final class CountingEmbedder: ImageEmbedder, @unchecked Sendable {
    let base: any ImageEmbedder
    private let lock = NSLock()
    private var counted = 0

    init(_ base: any ImageEmbedder) { self.base = base }

    var preprocessor: ImagePreprocessor { base.preprocessor }
    var dimension: Int { base.dimension }
    var count: Int { lock.withLock { counted } }

    func embed(_ images: Tensor) throws -> [Float] {
        lock.withLock { counted += images.shape[0] }
        return try base.embed(images)
    }
}

/// `count` random unit vectors of `dimension` values (Gaussian directions), row-major.
func randomUnitVectors(count: Int, dimension: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(state: seed)
    var values: [Float] = []
    values.reserveCapacity(count * dimension)
    for _ in 0..<count {
        var row = (0..<dimension).map { _ -> Double in
            let u = Double.random(in: Double.ulpOfOne..<1, using: &generator), v = Double.random(in: 0..<1, using: &generator)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        row = row.map { $0 / norm }
        values += row.map(Float.init)
    }
    return values
}

/// An embedder for indexes of synthetic features (never asked to embed images).
struct DimensionOnlyEmbedder: ImageEmbedder {
    let dimension: Int
    var preprocessor: ImagePreprocessor { ImagePreprocessor(resolution: 8) }
    func embed(_ images: Tensor) throws -> [Float] { throw CocoaError(.featureUnsupported) }
}

/// A model identity for synthetic indexes.
func syntheticIdentity(_ name: String = "synthetic") -> ModelIdentity {
    ModelIdentity(visionModel: name + "-vision", textModel: name + "-text", configJSON: "{}", checkpointPath: "/none",
                  checkpointHash: String(repeating: "0", count: 64))
}
