import Models
import Quantized
import Tensor
import TestSupport
import XCTest

/// `CLIPModel.use(precision:)` on the tiny reference checkpoint: fp32 unchanged, int8 close, bf16 only on bf16 CPUs.
final class ModelPrecisionTests: XCTestCase {
    private func model() throws -> CLIPModel {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        return try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt")).model
    }

    private func features(_ clip: CLIPModel) throws -> (image: [Float], text: [Float]) {
        let resolution = clip.config.imageResolution
        let images = try Tensor(shape: [3, 3, resolution, resolution], data: lcgValues(9 * resolution * resolution, seed: 3))
        let tokens = [[101, 2769, 4263, 872, 1962, 102], [101, 3221, 5018, 102, 0, 0]]
        return (try clip.encodeImage(images).toArray(), try clip.encodeText(tokens).toArray())
    }

    private func cosines(_ a: [Float], _ b: [Float], rows: Int) -> [Float] {
        let width = a.count / rows
        return (0..<rows).map { row in
            let x = a[(row * width)..<((row + 1) * width)], y = b[(row * width)..<((row + 1) * width)]
            let dot = zip(x, y).map(*).reduce(0, +)
            return dot / (x.map { $0 * $0 }.reduce(0, +).squareRoot() * y.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
    }

    func testFP32PrecisionKeepsTheFeatures() throws {
        let clip = try model()
        let before = try features(clip)
        let report = try clip.use(precision: .fp32)
        XCTAssertEqual(report.layers, clip.linearLayers.count)
        let after = try features(clip)
        XCTAssertLessThanOrEqual(maxAbsDifference(before.image, after.image), 1e-5)
        XCTAssertLessThanOrEqual(maxAbsDifference(before.text, after.text), 1e-5)
    }

    func testInt8FeaturesStayCloseToFP32() throws {
        let clip = try model()
        let reference = try features(clip)
        let report = try clip.use(precision: .int8, keepFloatWeights: true)
        XCTAssertEqual(report.onDNNL, clip.linearLayers.count)
        let quantized = try features(clip)
        XCTAssertNotEqual(reference.image, quantized.image) // the int8 kernels really ran
        for cosine in cosines(reference.image, quantized.image, rows: 3) + cosines(reference.text, quantized.text, rows: 2) {
            XCTAssertGreaterThan(cosine, 0.99)
        }
        try clip.use(precision: .fp32) // and back
        XCTAssertLessThanOrEqual(maxAbsDifference(reference.image, try features(clip).image), 1e-5)
    }

    func testBF16RunsOnlyWithBF16Hardware() throws {
        let clip = try model()
        let reference = try features(clip)
        guard DNNLInstructionSet.effective.hasBF16 else {
            XCTAssertThrowsError(try clip.use(precision: .bf16)) { error in
                guard case let .unsupported(precision, reason)? = error as? QuantizationError else {
                    return XCTFail("unexpected \(error)")
                }
                XCTAssertEqual(precision, "bf16")
                XCTAssertTrue(reason.contains("AVX512_BF16"), reason)
            }
            return
        }
        try clip.use(precision: .bf16)
        let reduced = try features(clip)
        for cosine in cosines(reference.image, reduced.image, rows: 3) + cosines(reference.text, reduced.text, rows: 2) {
            XCTAssertGreaterThan(cosine, 0.995)
        }
    }
}
