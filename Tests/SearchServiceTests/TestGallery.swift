import Foundation
import Imaging
import Models
import SearchService
import Tensor
import Tokenizer
import TestSupport

/// The tiny fixture model and a gallery of fixture images with features computed directly by the model
/// (independently of the service), searched exactly in the test.
enum TestGallery {
    static let imageNames = [
        "jpeg_baseline_320x240.jpg", "jpeg_gray_200x300.jpg", "jpeg_progressive_257x131.jpg", "png_rgb_300x200.png",
        "png_rgb_224x224.png", "png_gray_150x150.png", "gif_palette_150x100.gif", "bmp_rgb_123x45.bmp",
        "png_palette_97x61.png", "jpeg_cmyk_150x100.jpg",
        "png_rgb_300x200.png",   // twice: the clip-retrieval deduplication test needs a duplicate
    ]

    static let model: LoadedCLIP = {
        let config = try! ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        return try! CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt"))
    }()

    static func imageURL(_ name: String) -> URL { Fixtures.url("imaging/images/\(name)") }

    /// The L2-normalised feature of an image file, straight from the model.
    static func imageFeature(_ url: URL) throws -> [Float] {
        let input = try model.preprocessor.tensor(contentsOf: url).tensor
        let resolution = model.preprocessor.resolution
        return l2Normalize(try model.model.encodeImage(try input.reshaped([1, 3, resolution, resolution]))).output.toArray()
    }

    /// The L2-normalised feature of a text, straight from the model (reference preprocessing, context 52).
    static func textFeature(_ text: String) throws -> [Float] {
        let tokens = try model.tokenizer.tokenize([preprocessText(text)], contextLength: 52)
        return l2Normalize(try model.model.encodeText(tokens)).output.toArray()
    }

    static let backend: MemoryBackend = {
        var images: [IndexedImage] = []
        var features: [[Float]] = []
        for (index, name) in imageNames.enumerated() {
            let url = imageURL(name)
            let decoded = try! ImageDecoder.decode(contentsOf: url)
            images.append(IndexedImage(id: Int64(index + 1), path: url.path, width: decoded.width, height: decoded.height))
            features.append(try! imageFeature(url))
        }
        return MemoryBackend(images: images, features: features)
    }()
}

/// An exact in-memory index for the route tests: scores by a plain dot product, ties by id.
final class MemoryBackend: SearchBackend, @unchecked Sendable {
    let images: [IndexedImage]
    let features: [[Float]]
    private(set) var reloads = 0

    init(images: [IndexedImage], features: [[Float]]) {
        self.images = images
        self.features = features
    }

    func ranking(_ query: [Float]) -> [ScoredImage] {
        zip(images, features).map { image, feature in
            ScoredImage(image: image, score: zip(query, feature).reduce(0) { $0 + $1.0 * $1.1 })
        }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.image.id < $1.image.id }
    }

    func summary() throws -> IndexSummary {
        IndexSummary(rows: images.count, dimension: features.first?.count ?? 0, model: "tiny-vit-bert2",
                     checkpoint: nil, bytesOnDisk: nil, directory: "<memory>")
    }

    func search(_ query: [Float], k: Int, threshold: Float?, offset: Int) throws -> [ScoredImage] {
        Array(ranking(query).filter { threshold == nil || $0.score >= threshold! }.dropFirst(offset).prefix(k))
    }

    func image(id: Int64) throws -> IndexedImage? { images.first { $0.id == id } }

    func feature(id: Int64) throws -> [Float]? { images.firstIndex { $0.id == id }.map { features[$0] } }

    func reload() throws -> Int {
        reloads += 1
        return images.count
    }
}
