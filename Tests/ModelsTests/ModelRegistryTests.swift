import Foundation
import Models
import TestSupport
import XCTest

final class ModelRegistryTests: XCTestCase {
    /// Values from the reference's JSON files as REFERENCE.md §1.1 tabulates them.
    func testReleasedPairingsMergeAsTheReference() throws {
        let vit = try ModelRegistry.config(vision: "ViT-B-16", text: "RoBERTa-wwm-ext-base-chinese")
        XCTAssertEqual(vit.vision, .transformer(layers: 12))
        XCTAssertEqual([vit.embedDim, vit.imageResolution, vit.visionWidth, vit.visionPatchSize, vit.visionHeads],
                       [512, 224, 768, 16, 12])
        XCTAssertEqual([vit.textHiddenSize, vit.textNumHiddenLayers, vit.textNumAttentionHeads, vit.textIntermediateSize],
                       [768, 12, 12, 3072])

        let huge = try ModelRegistry.config(vision: "ViT-H-14", text: "RoBERTa-wwm-ext-large-chinese")
        XCTAssertEqual([huge.visionWidth, huge.visionHeadWidth, huge.visionHeads, huge.textHiddenSize], [1280, 80, 16, 1024])

        let resnet = try ModelRegistry.config(vision: "RN50", text: "RBT3-chinese")
        XCTAssertEqual(resnet.vision, .resnet(layers: [3, 4, 6, 3]))
        XCTAssertNil(resnet.visionPatchSize)
        XCTAssertEqual([resnet.visionHeads, resnet.embedDim, resnet.textNumHiddenLayers], [32, 1024, 3])

        let large336 = try ModelRegistry.config(vision: "ViT-L-14-336", text: "RoBERTa-wwm-ext-base-chinese")
        XCTAssertEqual(large336.imageResolution, 336)
        XCTAssertEqual(ModelRegistry.releasedModels.map(\.name), ["ViT-B-16", "ViT-L-14", "ViT-L-14-336", "ViT-H-14", "RN50"])
    }

    func testUnknownNamesListTheKnownOnes() {
        XCTAssertThrowsError(try ModelRegistry.config(vision: "ViT-X-99", text: "RBT3-chinese")) { error in
            XCTAssertEqual(error as? ModelError, .unknownModel(name: "ViT-X-99", known: ModelRegistry.visionModels))
            XCTAssertTrue("\(error)".contains("ViT-B-16"))
        }
        XCTAssertThrowsError(try ModelRegistry.config(vision: "RN50", text: "bert-base")) { error in
            XCTAssertEqual(error as? ModelError, .unknownModel(name: "bert-base", known: ModelRegistry.textModels))
        }
    }

    func testUserConfigFilesDecodeAndBadOnesNameTheKey() throws {
        let tiny = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-rn-bert1.config.json"))
        XCTAssertEqual(tiny.vision, .resnet(layers: [1, 2, 1, 1]))
        XCTAssertEqual(tiny.visionHeads, 4)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var object = try XCTUnwrap(Fixtures.json("models/tiny-vit-bert2.config.json") as? [String: Any])
        object.removeValue(forKey: "text_hidden_size")
        let missing = directory.appendingPathComponent("missing.json")
        try JSONSerialization.data(withJSONObject: object).write(to: missing)
        XCTAssertThrowsError(try ModelRegistry.config(contentsOf: missing)) { error in
            XCTAssertTrue("\(error)".contains("text_hidden_size"), "\(error)")
        }
        object["text_hidden_size"] = 16
        object["vision_patch_size"] = 7
        let badPatch = directory.appendingPathComponent("patch.json")
        try JSONSerialization.data(withJSONObject: object).write(to: badPatch)
        XCTAssertThrowsError(try ModelRegistry.config(contentsOf: badPatch)) { error in
            XCTAssertEqual(error as? ModelError,
                           .invalidConfig(key: "vision_patch_size", reason: "7 does not divide image_resolution 32"))
        }
        XCTAssertThrowsError(try ModelRegistry.config(contentsOf: directory.appendingPathComponent("absent.json")))
    }
}
