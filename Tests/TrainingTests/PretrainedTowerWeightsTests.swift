import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// `--clip-weight-path` / `--bert-weight-path`: the tiny model after loading a bare CLIP state dict and a Hugging
/// Face style BERT state dict equals, bit for bit, the reference's model after `load(model, "cpu", clip, bert)`
/// (gen_trainopts.py): visual.* and logit_scale from the CLIP file, bert.* but the pooler from the BERT file, other
/// keys ignored, every fp16-converted tensor rounded to fp16. Missing files and mis-shaped tensors are refused.
final class PretrainedTowerWeightsTests: XCTestCase {
    private func model() throws -> CLIPModel {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("training/train-vit-bert2.config.json"))
        return try CLIPModel.load(config: config, checkpoint: Fixtures.url("training/train-vit-bert2.init.pt")).model
    }

    func testLoadedModelEqualsTheReferences() throws {
        let model = try model()
        try PretrainedTowerWeights.load(clipPath: Fixtures.url("trainopts/weights.clip.pt").path,
                                        bertPath: Fixtures.url("trainopts/weights.bert.pt").path, into: model)
        let expected = try TrainOptionsFixture.stateDict("weights.loaded.pt")
        let clip = try TrainOptionsFixture.stateDict("weights.clip.pt")
        for entry in model.stateEntries() {
            let reference = try XCTUnwrap(expected[entry.name], entry.name).floatValues()
            XCTAssertEqual(entry.tensor.toArray(), reference, entry.name)
        }
        XCTAssertEqual(model.logitScale.toArray(), [3.1])
        // The CLIP file's visual tensors arrive rounded to fp16 where the reference keeps fp16, exact elsewhere.
        let proj = try XCTUnwrap(clip["visual.proj"]).floatValues()
        XCTAssertNotEqual(proj, proj.map { Float(Float16($0)) })
        XCTAssertEqual(try XCTUnwrap(expected["visual.proj"]).floatValues(), proj.map { Float(Float16($0)) })
        XCTAssertEqual(try XCTUnwrap(expected["visual.class_embedding"]).floatValues(),
                       try XCTUnwrap(clip["visual.class_embedding"]).floatValues())
    }

    func testMissingFileIsNamed() throws {
        let path = "/nonexistent/bert.bin"
        XCTAssertThrowsError(try PretrainedTowerWeights.load(clipPath: nil, bertPath: path, into: model())) { error in
            XCTAssertEqual(error as? TrainerError,
                           .unusableWeights(flag: "--bert-weight-path", path: path, reason: "no such file"))
        }
    }

    /// A CLIP file of another grid is resized as the reference's restore_model does (fixture: the reference's
    /// `resize_pos_embed` of a grid-5 tiny ViT to grid 7, gen_posembed.py), with its log line; 1e-6 absolute.
    func testPositionalEmbeddingOfAnotherGridIsResized() throws {
        let source = try Checkpoint.load(contentsOf: Fixtures.url("posembed/vit-grid5.pt")).stateDict
        let bare = StateDict(source.entries.map { (String($0.key.dropFirst("module.".count)), $0.tensor) })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString).pt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Checkpoint(layout: .bareStateDict, stateDict: bare).write(to: file)
        let model = try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("posembed/to-grid7.config.json")))
        var lines: [String] = []
        try PretrainedTowerWeights.load(clipPath: file.path, bertPath: nil, into: model) { lines.append($0) }
        XCTAssertEqual(lines, [try XCTUnwrap(Fixtures.meta("posembed/to-grid7.json")["log"] as? String)])
        let expected = try XCTUnwrap(try Fixtures.tensors("posembed/to-grid7.json")["positional_embedding"]).floats
        let loaded = try XCTUnwrap(model.stateEntries().first { $0.name == "visual.positional_embedding" }).tensor
        XCTAssertLessThanOrEqual(maxAbsDifference(loaded.toArray(), expected), 1e-6)
    }

    func testPositionalEmbeddingThatIsNoSquareGridIsRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString).pt")
        defer { try? FileManager.default.removeItem(at: file) }
        let wrong = try StoredTensor(Tensor(zeros: [11, 32]))
        try Checkpoint(layout: .bareStateDict, stateDict: StateDict([("visual.positional_embedding", wrong)]))
            .write(to: file)
        let model = try model()
        let before = model.stateEntries().map { $0.tensor.toArray() }
        XCTAssertThrowsError(try PretrainedTowerWeights.load(clipPath: file.path, bertPath: nil, into: model)) { error in
            let description = "\(error)"
            XCTAssertTrue(description.hasPrefix("--clip-weight-path \(file.path): "), description)
            XCTAssertTrue(description.contains("visual.positional_embedding"), description)
        }
        XCTAssertEqual(model.stateEntries().map { $0.tensor.toArray() }, before, "a refused file changes nothing")
    }
}
