import Foundation
import Models
import ONNXExport
import ONNXProto
import Tensor
import TestSupport
import XCTest

/// The exported towers of the tiny Hugging Face fixture model, run by ONNX Runtime in `Scripts/fixtures/hf/gen_onnx.py`
/// at batch 1 and 5 (fp32 and fp16 weights): their outputs against our features, and today's export against the
/// files the fixture was made from.
final class ONNXExportTests: XCTestCase {
    private let fixture = "onnx/outputs.json"

    private func model() throws -> LoadedCLIP {
        try CLIPModel.load(config: ModelRegistry.config(vision: "ViT-B-16", text: "RBT3-chinese"),
                           checkpoint: Fixtures.url("hf/tiny-vit"))
    }

    /// ONNX Runtime's outputs of our files equal our features.
    func testONNXRuntimeOutputsEqualOurFeatures() throws {
        let loaded = try model()
        let expected = try Fixtures.tensors(fixture)
        for batch in [1, 5] {
            let images = try XCTUnwrap(expected["image_batch\(batch)"])
            let features = try loaded.model.encodeImage(Tensor(shape: images.shape, data: images.floats)).toArray()
            let ids = try XCTUnwrap(expected["ids_batch\(batch)"])
            let length = ids.shape[1]
            let rows = (0..<ids.shape[0]).map { Array(ids.ints[($0 * length)..<(($0 + 1) * length)]) }
            let textFeatures = try loaded.model.encodeText(rows).toArray()
            for precision in ["fp32", "fp16"] {
                let tolerance: Float = precision == "fp32" ? 1e-4 : 2e-2
                let image = try XCTUnwrap(expected["\(precision)_image_features_batch\(batch)"]).floats
                let text = try XCTUnwrap(expected["\(precision)_text_features_batch\(batch)"]).floats
                XCTAssertLessThanOrEqual(maxAbsDifference(features, image), tolerance, "\(precision) image batch \(batch)")
                XCTAssertLessThanOrEqual(maxAbsDifference(textFeatures, text), tolerance, "\(precision) text batch \(batch)")
            }
        }
        XCTAssertEqual(try Fixtures.meta(fixture)["checker_passed"] as? Bool, true)
    }

    /// Today's export is byte for byte the files ONNX Runtime ran for the fixture.
    func testExportIsTheFileTheFixtureWasMadeFrom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let loaded = try model()
        for (precision, half) in [("fp32", false), ("fp16", true)] {
            let out = directory.appendingPathComponent(precision)
            let written = try ONNXExport.export(loaded.model, to: out, options: .init(halfWeights: half))
            XCTAssertTrue(written.dataFiles.isEmpty)
            for name in [ONNXExport.visionFileName, ONNXExport.textFileName] {
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(name)),
                               try Fixtures.data("onnx/\(precision)/\(name)"), "\(precision)/\(name)")
            }
        }
    }

    /// Above the threshold the weights move to `<file>.data`, referenced by location, offset and length.
    func testExternalDataAboveTheThreshold() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let written = try ONNXExport.export(try model().model, to: directory, options: .init(externalDataThreshold: 1000))
        XCTAssertEqual(written.dataFiles.map(\.lastPathComponent), ["vision.onnx.data", "text.onnx.data"])
        let proto = try Onnx_ModelProto(serializedBytes: Data(contentsOf: written.vision))
        let data = try Data(contentsOf: written.dataFiles[0])
        var end = 0
        var external = 0
        for tensor in proto.graph.initializer where tensor.dataLocation == .external {
            external += 1
            XCTAssertTrue(tensor.rawData.isEmpty)
            let fields = Dictionary(uniqueKeysWithValues: tensor.externalData.map { ($0.key, $0.value) })
            XCTAssertEqual(fields["location"], "vision.onnx.data")
            end = max(end, Int(fields["offset"] ?? "")! + Int(fields["length"] ?? "")!)
        }
        XCTAssertGreaterThan(external, 10)
        XCTAssertEqual(end, data.count)
    }

    /// The reference's tiny ModifiedResNet: ONNX Runtime's outputs of our vision.onnx equal our features, and
    /// today's export is that file.
    func testResNetVisionTower() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-rn-bert1.config.json"))
        let model = try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-rn-bert1.fp32.pt")).model
        let expected = try Fixtures.tensors(fixture)
        for batch in [1, 5] {
            let count = batch * 3 * 64 * 64
            let ramp = (0..<count).map { Float(($0 * 7919) % 1000) / 500 - 1 }
            let features = try model.encodeImage(Tensor(shape: [batch, 3, 64, 64], data: ramp)).toArray()
            let onnx = try XCTUnwrap(expected["rn_image_features_batch\(batch)"]).floats
            XCTAssertLessThanOrEqual(maxAbsDifference(features, onnx), 1e-4, "batch \(batch)")
        }
        let proto = try ONNXExport.visionModel(model, halfWeights: false)
        XCTAssertEqual(try proto.serializedData(), try Fixtures.data("onnx/rn-fp32/vision.onnx"))
    }
}
