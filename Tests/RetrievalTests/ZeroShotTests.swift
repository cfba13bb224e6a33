import Foundation
import Models
import Retrieval
import Tokenizer
import TestSupport
import XCTest

/// `zeroshot_evaluation.py` against the reference run on the committed folder dataset with the tiny random-weight
/// models (Scripts/fixtures/gen_zeroshot.py): listing, accuracy, stdout lines, and the output JSON field for field
/// (probabilities within 1e-4 after the reference's 6-decimal rounding; every other field byte-identical).
final class ZeroShotTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testListingMatchesTorchvisionImageFolder() throws {
        let expected = try XCTUnwrap(Fixtures.json("zeroshot/expected/samples.json") as? [String: Any])
        let root = Fixtures.url("zeroshot/dataset/test").path
        let dataset = try ImageFolderDataset(root: root)
        XCTAssertEqual(dataset.classFolders, expected["classes"] as? [String])
        let samples = try XCTUnwrap(expected["samples"] as? [[Any]])
        XCTAssertEqual(dataset.samples.map { [String($0.path.dropFirst(root.count + 1)), String($0.label)] },
                       samples.map { ["\($0[0])", "\($0[1])"] })
    }

    func testBundledTemplatesPickTheReferenceSets() throws {
        let sets = try PromptTemplateSets.bundled()
        XCTAssertEqual(sets.templates(forDataset: "imagenet").count, 183)
        XCTAssertEqual(sets.templates(forDataset: "openai").count, 183)
        XCTAssertEqual(sets.templates(forDataset: "food-101").count, 21)
        XCTAssertEqual(sets.templates(forDataset: "fgvc-aircraft-2013b-variants102").count, 100)
        XCTAssertEqual(sets.templates(forDataset: "oxford-flower-102").count, 32)
        XCTAssertEqual(sets.templates(forDataset: "resisc45_clip"), sets.templates(forDataset: "eurosat_clip"))
        XCTAssertEqual(sets.templates(forDataset: "eurosat_clip").count, 24)
        XCTAssertEqual(sets.templates(forDataset: "country211").count, 4)
        XCTAssertEqual(try sets.templates(named: "pet").count, 6)
        XCTAssertThrowsError(try sets.templates(named: "nope"))
        let first = try XCTUnwrap(sets.templates(forDataset: "cifar10").first)
        XCTAssertEqual(first("猫"), "猫的照片")
        XCTAssertEqual(first("{c}"), "{c}的照片")
    }

    func testViTFoodRunWithIndexMatchesReference() throws {
        try checkRun("vit-food", expectedTemplates: 21)
    }

    func testResNetImageNetRunMatchesReference() throws {
        try checkRun("rn-imagenet", expectedTemplates: 183)
    }

    func testPythonRoundAndTorchReprMatchReference() throws {
        let expected = try XCTUnwrap(Fixtures.json("zeroshot/expected/formatting.json") as? [String: Any])
        for pair in try XCTUnwrap(expected["round6"] as? [[Double]]) {
            XCTAssertEqual(pythonRound(pair[0], digits: 6), pair[1], "round(\(pair[0]), 6)")
        }
        for entry in try XCTUnwrap(expected["torch_repr"] as? [[Any]]) {
            let values = try XCTUnwrap(entry[0] as? [Int])
            XCTAssertEqual(torchRepr(int64Vector: values), entry[1] as? String)
        }
    }

    /// Class embeddings against the recipe computed here on full-length (52-token) prompts: the classifier trims the
    /// common padding, which must not move a value by more than 1e-6.
    func testClassEmbeddingsEqualTheUntrimmedRecipe() throws {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        let loaded = try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt"))
        let templates = try PromptTemplateSets.bundled().templates(forDataset: "food-101")
        let labels = ["皮卡丘", "“Squirtle”杰尼龟"]
        let classifier = try ZeroShotClassifier(model: loaded, labels: labels, templates: templates)
        let embeddings = classifier.classEmbeddings.toArray()
        let width = config.embedDim
        for (row, label) in labels.enumerated() {
            let prompts = templates.map { preprocessText($0(label)) }
            XCTAssertTrue(prompts[0].contains("\"squirtle\"") || row == 0, prompts[0])
            let tokens = try loaded.tokenizer.tokenize(prompts, contextLength: 52)
            let features = try loaded.model.encodeText(tokens).toArray()
            var mean = [Double](repeating: 0, count: width)
            for text in 0..<prompts.count {
                let feature = features[(text * width)..<((text + 1) * width)].map(Double.init)
                let norm = feature.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for column in 0..<width { mean[column] += feature[column] / norm / Double(prompts.count) }
            }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let expected = mean.map { Float($0 / norm) }
            XCTAssertLessThanOrEqual(maxAbsDifference(Array(embeddings[(row * width)..<((row + 1) * width)]), expected), 1e-6)
        }
    }

    /// Runs the library path the command takes with the flags the reference ran with, and compares.
    private func checkRun(_ run: String, expectedTemplates: Int) throws {
        let runs = try XCTUnwrap(Fixtures.json("zeroshot/expected/runs.json") as? [String: [String: Any]])
        let entry = try XCTUnwrap(runs[run])
        let flagList = try XCTUnwrap(entry["flags"] as? [String])
        var flags: [String: String] = [:]
        for position in stride(from: 0, to: flagList.count, by: 2) { flags[flagList[position]] = flagList[position + 1] }
        func path(_ flag: String) throws -> String {
            Fixtures.url(String(try XCTUnwrap(flags[flag]).dropFirst("Tests/Fixtures/".count))).path
        }
        let modelName = try XCTUnwrap(entry["model"] as? String)
        let dataset = flags["--dataset"] ?? "imagenet"
        let vision = try XCTUnwrap(flags["--vision-model"])

        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/\(modelName).config.json"))
        let loaded = try CLIPModel.load(config: config, checkpoint: URL(fileURLWithPath: try path("--resume")))
        let data = try ImageFolderDataset(root: try path("--datapath"))
        let labels = try data.labels(contentsOf: try path("--label-file"))
        XCTAssertEqual(labels, ["皮卡丘", "“Squirtle”杰尼龟", "妙蛙种子 Bulbasaur"])
        let templates = try PromptTemplateSets.bundled().templates(forDataset: dataset)
        XCTAssertEqual(templates.count, expectedTemplates)
        let classifier = try ZeroShotClassifier(model: loaded, labels: labels, templates: templates,
                                                contextLength: Int(flags["--context-length"] ?? "52") ?? 52)
        var predictions = try ZeroShotEvaluation.run(classifier, on: data,
                                                     batchSize: Int(flags["--img-batch-size"] ?? "64") ?? 64, workers: 2)
        let stdout = try String(contentsOf: Fixtures.url("zeroshot/expected/\(run)/stdout.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        if flags["--index"] != nil {
            let index = try ZeroShotEvaluation.index(contentsOf: try path("--index"), count: data.samples.count)
            predictions = try predictions.reordered(by: index)
            XCTAssertTrue(stdout.contains(torchRepr(int64Vector: predictions.targets)))
        }
        XCTAssertTrue(stdout.contains(ZeroShotEvaluation.resultLine(top1: predictions.top1)), "accuracy \(predictions.top1)")
        XCTAssertTrue(stdout.contains("torch.Size([\(predictions.count), \(predictions.classCount)])"))

        let report = ZeroShotReport(visionModel: vision, dataset: dataset, model: loaded.model, predictions: predictions)
        let written = try report.write(saveDir: scratch.path)
        XCTAssertEqual(written, scratch.path + "/\(dataset).json")
        let ours = try String(contentsOfFile: written, encoding: .utf8)
        let reference = try String(contentsOf: Fixtures.url("zeroshot/expected/\(run)/\(dataset).json"), encoding: .utf8)
        let split = "\"predictions\": "
        let (oursHeader, referenceHeader) = (ours.components(separatedBy: split), reference.components(separatedBy: split))
        XCTAssertEqual(oursHeader.first, referenceHeader.first, "every field before the predictions, byte for byte")
        let oursObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ours.utf8)) as? [String: Any])
        let referenceObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reference.utf8)) as? [String: Any])
        let oursRows = try XCTUnwrap((oursObject["predictions"] as? [[[Double]]])?.first)
        let referenceRows = try XCTUnwrap((referenceObject["predictions"] as? [[[Double]]])?.first)
        XCTAssertEqual(oursRows.count, referenceRows.count)
        var worst = 0.0
        for (ourRow, referenceRow) in zip(oursRows, referenceRows) {
            XCTAssertEqual(ourRow.count, referenceRow.count)
            // Probabilities within 1e-4 fix the predicted class wherever the reference's best two are more than
            // 2e-4 apart (the fixtures' smallest gap is 7.9e-4, so the accuracy line is kernel-independent too).
            let sorted = referenceRow.sorted(by: >)
            if sorted.count < 2 || sorted[0] - sorted[1] > 2e-4 {
                XCTAssertEqual(firstMaximumIndex(ourRow), firstMaximumIndex(referenceRow), "predicted class")
            }
            for (a, b) in zip(ourRow, referenceRow) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, "\(run): max |Δprob| \(worst)")
        XCTAssertFalse(ours.hasSuffix("\n"))
    }

    private func firstMaximumIndex(_ row: [Double]) -> Int? {
        row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }
    }
}
