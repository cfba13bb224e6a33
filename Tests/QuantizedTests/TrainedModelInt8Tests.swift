import Foundation
import Imaging
import Models
import Quantized
import Tensor
import TestSupport
import Tokenizer
import XCTest

/// int8 on a model that has learned something (the demo's Fashion-MNIST model committed under
/// `Tests/Fixtures/search`, with 80 of its test images): the features stay close to fp32 and Chinese captions find
/// the same images. The demo itself measures the 10 000-image figures (`Scripts/bench/demo-quality.sh`).
final class TrainedModelInt8Tests: XCTestCase {
    private let configURL = Fixtures.url("search/fashion-clip.config.json")
    private let checkpointURL = Fixtures.url("search/fashion-clip.safetensors")
    private let queries = ["深色的T恤", "一条浅色的裤子", "一个浅色的包", "一双灰色的短靴", "一件深色的外套"]

    private func load(_ precision: InferencePrecision) throws -> LoadedCLIP {
        let loaded = try CLIPModel.load(config: ModelRegistry.config(contentsOf: configURL), checkpoint: checkpointURL)
        let report = try loaded.model.use(precision: precision)
        XCTAssertEqual(report.onDNNL, precision == .fp32 ? 0 : report.layers, "\(report)")
        return loaded
    }

    /// Unit image features of the fixture images (rows, in path order) and unit text features of `queries`.
    private func features(_ loaded: LoadedCLIP) throws -> (images: [[Float]], texts: [[Float]]) {
        let root = Fixtures.url("search/images")
        let paths = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".png") }.sorted()
        let inputs = try paths.map { try loaded.preprocessor.preprocess(ImageDecoder.decode(contentsOf: root.appendingPathComponent($0))).tensor }
        let resolution = loaded.preprocessor.resolution
        let batch = try Tensor(shape: [inputs.count, 3, resolution, resolution], data: inputs.flatMap { $0.toArray() })
        let images = l2Normalize(try loaded.model.encodeImage(batch)).output
        let tokens = try loaded.tokenizer.tokenize(queries.map(preprocessText), contextLength: 16)
        let texts = l2Normalize(try loaded.model.encodeText(tokens)).output
        let rows = { (tensor: Tensor) in
            (0..<tensor.shape[0]).map { Array(tensor.toArray()[($0 * tensor.shape[1])..<(($0 + 1) * tensor.shape[1])]) }
        }
        return (rows(images), rows(texts))
    }

    private func cosine(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func testInt8FeaturesAndRankingsFollowFP32() throws {
        let exact = try features(load(.fp32)), int8 = try features(load(.int8))
        XCTAssertEqual(exact.images.count, 80)
        let imageCosines = zip(exact.images, int8.images).map(cosine)
        let textCosines = zip(exact.texts, int8.texts).map(cosine)
        XCTAssertGreaterThan(imageCosines.min()!, 0.99, "image cosines \(imageCosines.min()!)")
        XCTAssertGreaterThan(textCosines.min()!, 0.99, "text cosines \(textCosines)")
        XCTAssertNotEqual(exact.images, int8.images, "int8 must actually change the arithmetic")
        // Each caption's five best images: at least four shared, and the same best one.
        for (query, (exactText, int8Text)) in zip(queries, zip(exact.texts, int8.texts)) {
            let top = { (images: [[Float]], text: [Float]) in
                images.indices.sorted { self.cosine(images[$0], text) > self.cosine(images[$1], text) }.prefix(5)
            }
            let a = top(exact.images, exactText), b = top(int8.images, int8Text)
            XCTAssertEqual(a.first, b.first, query)
            XCTAssertGreaterThanOrEqual(Set(a).intersection(b).count, 4, "\(query): \(Array(a)) vs \(Array(b))")
        }
    }
}
