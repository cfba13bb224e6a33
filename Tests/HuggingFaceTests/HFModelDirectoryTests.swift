import Checkpoint
import Foundation
import Imaging
import Models
import Tensor
import Tokenizer
import TestSupport
import XCTest

/// Hugging Face ChineseCLIP directories made by transformers 4.36.2 (`Scripts/fixtures/gen_hf.py`): our features,
/// pixels and token ids against transformers', and conversions both ways bit for bit.
final class HFModelDirectoryTests: XCTestCase {
    private let features = "hf/features.json"

    private func load(_ name: String) throws -> LoadedCLIP {
        // The config argument is not used for a directory: its config.json decides.
        try CLIPModel.load(config: ModelRegistry.config(vision: "ViT-B-16", text: "RBT3-chinese"),
                           checkpoint: Fixtures.url("hf/\(name)"))
    }

    private func imageBatch(_ loaded: LoadedCLIP) throws -> (Tensor, [Float]) {
        let names = try XCTUnwrap(Fixtures.meta(features)["images"] as? [String])
        let pixels = try names.flatMap { try loaded.preprocessor.tensor(contentsOf: Fixtures.url("hf/images/\($0)")).tensor.toArray() }
        let side = loaded.model.config.imageResolution
        return (try Tensor(shape: [names.count, 3, side, side], data: pixels), pixels)
    }

    private func checkFeatures(_ name: String, pixels pixelKey: String, imageFeatures imageKey: String) throws {
        let loaded = try load(name)
        let expected = try Fixtures.tensors(features)
        let (batch, pixels) = try imageBatch(loaded)
        XCTAssertEqual(maxAbsDifference(pixels, try XCTUnwrap(expected[pixelKey]).floats), 0, "pixel values of \(name)")
        let image = try loaded.model.encodeImage(batch)
        XCTAssertLessThanOrEqual(maxAbsDifference(image.toArray(), try XCTUnwrap(expected[imageKey]).floats), 1e-4)

        let texts = try XCTUnwrap(Fixtures.meta(features)["texts"] as? [String])
        let ids = try loaded.tokenizer.tokenize(texts, contextLength: 52)
        XCTAssertEqual(ids.flatMap { $0 }, try XCTUnwrap(expected["input_ids"]).ints, "token ids from \(name)/vocab.txt")
        let text = try loaded.model.encodeText(ids)
        XCTAssertLessThanOrEqual(maxAbsDifference(text.toArray(), try XCTUnwrap(expected["text_features"]).floats), 1e-4)
    }

    /// model.safetensors, and a preprocessor_config.json squashing to the model's size as the Hub's files do.
    func testSafetensorsDirectoryGivesTransformersFeaturesAndPixels() throws {
        try checkFeatures("tiny-vit", pixels: "pixels_squash", imageFeatures: "image_features_squash")
    }

    /// Sharded pytorch_model-*.bin with its index, and the class default steps (shortest edge, center crop).
    func testShardedDirectoryWithCenterCropGivesTransformersFeaturesAndPixels() throws {
        try checkFeatures("tiny-vit-sharded", pixels: "pixels_crop", imageFeatures: "image_features_crop")
    }

    func testConfigTranslation() throws {
        let config = try HFModelDirectory.config(at: Fixtures.url("hf/tiny-vit"))
        let reference = try ModelRegistry.config(contentsOf: Fixtures.url("hf/tiny-vit.config.json"))
        XCTAssertEqual(config, reference)
    }

    /// HF → .pt → HF → .pt: every tensor bit for bit, and our HF output equals transformers' own file.
    func testRoundTripIsBitExact() throws {
        let scratch = try temporaryDirectory()
        let original = Fixtures.url("hf/tiny-vit")
        let config = try HFModelDirectory.config(at: original)
        let first = try HFModelDirectory.referenceCheckpoint(original)
        XCTAssertTrue(first.stateDict.keys.allSatisfy { $0.hasPrefix("module.") })
        XCTAssertEqual(first.epoch, 0)
        let pt = scratch.appendingPathComponent("tiny.pt")
        try first.write(to: pt)
        let reread = try Checkpoint.load(contentsOf: pt)
        XCTAssertEqual(reread.stateDict, first.stateDict)

        let ours = scratch.appendingPathComponent("hf")
        try HFModelDirectory.write(reread.stateDict, config: config,
                                   vocabulary: HFModelDirectory.tokenizer(at: original, config: config).vocabulary, to: ours)
        let theirs = try SafeTensors.read(contentsOf: original.appendingPathComponent("model.safetensors")).stateDict
        let written = try SafeTensors.read(contentsOf: ours.appendingPathComponent("model.safetensors")).stateDict
        XCTAssertEqual(Set(written.keys), Set(theirs.keys))
        for key in theirs.keys { XCTAssertEqual(written[key], theirs[key], key) }
        XCTAssertEqual(try HFModelDirectory.referenceCheckpoint(ours).stateDict, first.stateDict)
        XCTAssertEqual(try Data(contentsOf: ours.appendingPathComponent("vocab.txt")),
                       try Data(contentsOf: original.appendingPathComponent("vocab.txt")))
        // transformers loaded such a directory and computed the same features (gen_hf.py --cnclip).
        XCTAssertEqual(try Fixtures.meta(features)["ours_loaded_by_transformers"] as? Bool, true)
        let expected = try Fixtures.tensors(features)
        XCTAssertEqual(expected["ours_image_features"]?.values, expected["image_features_squash"]?.values)
    }

    /// A reference training checkpoint → HF → .pt keeps every tensor bit for bit.
    func testReferenceCheckpointRoundTripIsBitExact() throws {
        let scratch = try temporaryDirectory()
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        let source = try Checkpoint.load(contentsOf: Fixtures.url("models/tiny-vit-bert2.fp32.pt"))
        let directory = scratch.appendingPathComponent("hf")
        try HFModelDirectory.write(source.stateDict, config: config, vocabulary: Tokenizer.bundled().vocabulary,
                                   to: directory)
        let back = try HFModelDirectory.referenceCheckpoint(directory)
        let kept = source.stateDict.keys.filter { !$0.contains("bert.pooler") }
        XCTAssertEqual(Set(back.stateDict.keys), Set(kept))
        for key in kept { XCTAssertEqual(back.stateDict[key], source.stateDict[key], key) }
        // And the directory gives the same features as the checkpoint.
        let fromPT = try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt")).model
        let fromHF = try CLIPModel.load(config: config, checkpoint: directory).model
        let ids = try Tokenizer.bundled().tokenize(["一只猫", "狗"], contextLength: 52)
        XCTAssertEqual(try fromHF.encodeText(ids).toArray(), try fromPT.encodeText(ids).toArray())
    }

    func testResNetIsRefusedWithTheReason() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-rn-bert1.config.json"))
        XCTAssertThrowsError(try HFModelDirectory.write(StateDict(), config: config,
                                                        vocabulary: Tokenizer.bundled().vocabulary,
                                                        to: temporaryDirectory().appendingPathComponent("rn"))) {
            XCTAssertTrue("\($0)".contains("no transformers ChineseCLIP equivalent"), "\($0)")
        }
    }

    // MARK: bad input, each error naming the file

    func testDirectoryWithoutConfig() throws {
        let directory = try copyOfFixture("tiny-vit")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("config.json"))
        try assertError(loading: directory, mentions: [directory.appendingPathComponent("config.json").path])
    }

    func testConfigOfAnotherModelType() throws {
        let directory = try copyOfFixture("tiny-vit")
        let url = directory.appendingPathComponent("config.json")
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["model_type"] = "clip"
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        try assertError(loading: directory, mentions: [url.path, "\"clip\""])
    }

    func testUnsupportedActivationIsRefusedNamingTheKey() throws {
        let directory = try copyOfFixture("tiny-vit")
        let url = directory.appendingPathComponent("config.json")
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var vision = try XCTUnwrap(object["vision_config"] as? [String: Any])
        vision["hidden_act"] = "gelu"
        object["vision_config"] = vision
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        try assertError(loading: directory, mentions: [url.path, "vision_config.hidden_act"])
    }

    func testShardIndexNamingAMissingFile() throws {
        let directory = try copyOfFixture("tiny-vit-sharded")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("pytorch_model-00003-of-00005.bin"))
        try assertError(loading: directory, mentions: [directory.appendingPathComponent("pytorch_model.bin.index.json").path,
                                                       "pytorch_model-00003-of-00005.bin"])
    }

    func testTruncatedSafetensors() throws {
        let directory = try copyOfFixture("tiny-vit")
        let url = directory.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        try assertError(loading: directory, mentions: [url.path])
    }

    func testMissingAndMisShapedKeysNameBothNames() throws {
        let directory = try copyOfFixture("tiny-vit")
        let url = directory.appendingPathComponent("model.safetensors")
        var (stateDict, metadata) = try SafeTensors.read(contentsOf: url)
        stateDict["vision_model.encoder.layers.1.self_attn.k_proj.bias"] = nil
        let projection = try XCTUnwrap(stateDict["text_projection.weight"])
        stateDict["text_projection.weight"] = try projection.rows(0..<3)
        try SafeTensors.write(stateDict, metadata: metadata, to: url)
        try assertError(loading: directory, mentions: [
            "vision_model.encoder.layers.1.self_attn.k_proj.bias", "visual.transformer.resblocks.1.attn.in_proj_bias",
            url.path, "text_projection.weight", "this model's text_projection",
        ])
    }

    // MARK: helpers

    private func assertError(loading directory: URL, mentions: [String], file: StaticString = #filePath,
                             line: UInt = #line) throws {
        XCTAssertThrowsError(try CLIPModel.load(config: ModelRegistry.config(vision: "ViT-B-16", text: "RBT3-chinese"),
                                                checkpoint: directory), file: file, line: line) { error in
            let message = "\(error)"
            for part in mentions { XCTAssertTrue(message.contains(part), "\(message) lacks \(part)", file: file, line: line) }
        }
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hf-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func copyOfFixture(_ name: String) throws -> URL {
        let copy = try temporaryDirectory().appendingPathComponent(name)
        try FileManager.default.copyItem(at: Fixtures.url("hf/\(name)"), to: copy)
        return copy
    }
}
