import Dataset
import Foundation
import Models
import Retrieval
import TestSupport
import XCTest

/// The whole retrieval chain on the tiny dataset of Scripts/fixtures/gen_pipeline.py, against what the reference's
/// scripts wrote from the same inputs: build-lmdb → extract-features (tiny-vit-bert2, fp32, batch 5) →
/// make-topk-predictions(-tr) → transform → evaluation(-tr). Features: same ids in the same order, values within
/// 1e-4 absolute (the project's fp32 feature bar). Files computed from the reference's own features: byte for byte;
/// from ours: equal up to the near-ties that rounding may break either way.
final class PipelineTests: XCTestCase {
    private let tolerance: Float = 1e-4
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    private func extractor() throws -> FeatureExtractor {
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        return FeatureExtractor(try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt")))
    }

    /// build-lmdb → extract-features against the reference's feature files (≤ 1e-4), then top-k (both directions),
    /// the `.tr` transform and both evaluations from the reference's own feature files, byte for byte: the same
    /// inputs as the reference's run, and (see `ExactTopKSearch`) exact ties stay ties whatever the GEMM kernel.
    func testChainMatchesReference() throws {
        try extractOurFeatures()
        try assertFeaturesMatch("test_texts.txt_feat.jsonl", kind: .text)
        try assertFeaturesMatch("test_imgs.img_feat.jsonl", kind: .image)

        let imageFeatures = Fixtures.url("pipeline/test_imgs.img_feat.jsonl").path
        let textFeatures = Fixtures.url("pipeline/test_texts.txt_feat.jsonl").path
        var stdout: [String] = []
        try TopKPredictions.run(imageFeatures: imageFeatures, textFeatures: textFeatures,
                                topK: 10, evalBatchSize: 5, output: path("test_predictions.jsonl"), direction: .textToImage,
                                print: { stdout.append($0) })
        XCTAssertEqual(stdout, ["Params:", "  eval_batch_size: 5", "  image_feats: \(imageFeatures)",
                                "  output: \(path("test_predictions.jsonl"))",
                                "  text_feats: \(textFeatures)", "  top_k: 10",
                                "Begin to load image features...", "Finished loading image features.",
                                "Begin to compute top-10 predictions for texts...",
                                "Top-10 predictions are saved in \(path("test_predictions.jsonl"))", "Done!"])
        try TopKPredictions.run(imageFeatures: imageFeatures, textFeatures: textFeatures,
                                topK: 10, evalBatchSize: 5, output: path("test_tr_predictions.jsonl"),
                                direction: .imageToText, print: { _ in })
        try evaluate(predictions: "test_predictions.jsonl", trPredictions: "test_tr_predictions.jsonl")
        for name in ["test_predictions.jsonl", "test_tr_predictions.jsonl", "test_texts.tr.jsonl", "output.json", "output_tr.json"] {
            XCTAssertEqual(try Data(contentsOf: scratch.appendingPathComponent(name)), try Fixtures.data("pipeline/\(name)"), name)
        }
    }

    /// The chain run on our own features. Their scores differ from the reference's by rounding, so a near-tie may
    /// rank either way (the tiny random model's duplicate images and texts tie exactly in the reference, and our
    /// copies of them differ in the last bit under some GEMM kernels): each ranking must be one the reference's
    /// scores allow (`NearTieRanking`), and each Recall@K must lie between the recalls of the best and worst such
    /// ranking, equal to the reference's wherever no near-tie straddles position K.
    func testChainFromOurFeaturesAgreesUpToNearTies() throws {
        try extractOurFeatures()
        for direction in [RetrievalDirection.textToImage, .imageToText] {
            let name = direction == .textToImage ? "test_predictions.jsonl" : "test_tr_predictions.jsonl"
            try TopKPredictions.run(imageFeatures: path("test_imgs.img_feat.jsonl"), textFeatures: path("test_texts.txt_feat.jsonl"),
                                    topK: 10, evalBatchSize: 5, output: path(name), direction: direction, print: { _ in })
        }
        try evaluate(predictions: "test_predictions.jsonl", trPredictions: "test_tr_predictions.jsonl")

        let texts = try records("test_texts.txt_feat.jsonl", kind: .text)
        let images = try records("test_imgs.img_feat.jsonl", kind: .image)
        let textToImage = try NearTieRanking(referenceQueries: texts.reference, referenceGallery: images.reference,
                                             ourQueries: texts.ours, ourGallery: images.ours)
        let imageToText = try NearTieRanking(referenceQueries: images.reference, referenceGallery: texts.reference,
                                             ourQueries: images.ours, ourGallery: texts.ours)
        XCTAssertLessThan(textToImage.tolerance, 1e-4, "features within 1e-4 keep scores close")
        let groups = (0..<texts.ours.count).flatMap { textToImage.nearTieGroups(query: $0) }
        XCTAssertGreaterThan(groups.filter { $0.count == 1 }.count, groups.count * 3 / 4,
                             "most places are fixed, so the comparison can fail")

        try assertRanking("test_predictions.jsonl", queryKey: "text_id", itemsKey: "image_ids", ranking: textToImage,
                          queryIDs: texts.ours.map(\.id))
        try assertRanking("test_tr_predictions.jsonl", queryKey: "image_id", itemsKey: "text_ids", ranking: imageToText,
                          queryIDs: images.ours.map(\.id))
        try assertRecallBounds("output.json", groundTruth: "test_texts.jsonl", queryKey: "text_id", itemsKey: "image_ids",
                               ranking: textToImage, queryIDs: texts.ours.map(\.id))
        try assertRecallBounds("output_tr.json", groundTruth: "test_texts.tr.jsonl", queryKey: "image_id", itemsKey: "text_ids",
                               ranking: imageToText, queryIDs: images.ours.map(\.id))
    }

    /// Copies the dataset, builds its LMDB and writes our image and text features into the scratch folder.
    private func extractOurFeatures() throws {
        for name in ["test_imgs.tsv", "test_texts.jsonl"] {
            try FileManager.default.copyItem(at: Fixtures.url("pipeline/\(name)"), to: scratch.appendingPathComponent(name))
        }
        try LMDBBuilder(dataDirectory: scratch.path, report: { _ in }).build(splits: ["test"])

        let extractor = try extractor()
        let textWriter = try FeatureJSONLWriter(path: path("test_texts.txt_feat.jsonl"), kind: .text)
        let texts = try EvalText.readAll(path: path("test_texts.jsonl"))
        var textProgress: [Int] = []
        XCTAssertEqual(try extractor.extractTexts(texts, batchSize: 5, contextLength: 52, into: textWriter,
                                                  progress: { textProgress.append($0) }), 12)
        try textWriter.finish()
        XCTAssertEqual(textProgress, [5, 10, 12])
        let imageWriter = try FeatureJSONLWriter(path: path("test_imgs.img_feat.jsonl"), kind: .image)
        XCTAssertEqual(try extractor.extractImages(lmdbPath: path("lmdb/test/imgs"), batchSize: 5, into: imageWriter), 12)
        try imageWriter.finish()
    }

    /// The `.tr` transform of the ground truth, then both evaluations of the named prediction files.
    private func evaluate(predictions: String, trPredictions: String) throws {
        _ = try AnnotationTransform.run(inputPath: path("test_texts.jsonl"))
        try RecallEvaluation.run(groundTruthPath: path("test_texts.jsonl"), predictionPath: path(predictions),
                                 outputPath: path("output.json"), direction: .textToImage, print: { _ in })
        try RecallEvaluation.run(groundTruthPath: path("test_texts.tr.jsonl"), predictionPath: path(trPredictions),
                                 outputPath: path("output_tr.json"), direction: .imageToText, print: { _ in })
    }

    private func records(_ name: String, kind: FeatureRecord.Kind) throws -> (ours: [FeatureRecord], reference: [FeatureRecord]) {
        (try FeatureJSONLReader(path: path(name), kind: kind).readAll(),
         try FeatureJSONLReader(path: Fixtures.url("pipeline/\(name)").path, kind: kind).readAll())
    }

    /// One JSON object per line of a scratch file, keyed by its query id, with its list of item ids.
    private func idLists(_ name: String, queryKey: String, itemsKey: String) throws -> [Int64: [Int64]] {
        var lists: [Int64: [Int64]] = [:]
        for line in try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let items = try XCTUnwrap(object[itemsKey] as? [NSNumber])
            lists[try XCTUnwrap(object[queryKey] as? NSNumber).int64Value] = items.map(\.int64Value)
        }
        return lists
    }

    private func assertRanking(_ name: String, queryKey: String, itemsKey: String, ranking: NearTieRanking,
                               queryIDs: [Int64]) throws {
        let predicted = try idLists(name, queryKey: queryKey, itemsKey: itemsKey)
        XCTAssertEqual(Set(predicted.keys), Set(queryIDs), name)
        for (query, id) in queryIDs.enumerated() {
            let items = try XCTUnwrap(predicted[id])
            XCTAssertEqual(items.count, min(10, ranking.galleryIDs.count))
            ranking.assertAllowed(items, query: query, "\(name) \(queryKey) \(id)")
        }
    }

    private func assertRecallBounds(_ name: String, groundTruth: String, queryKey: String, itemsKey: String,
                                    ranking: NearTieRanking, queryIDs: [Int64]) throws {
        let truth = try idLists(groundTruth, queryKey: queryKey, itemsKey: itemsKey)
        let output = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.appendingPathComponent(name)))
            as? [String: Any])
        let scores = try XCTUnwrap(output["scoreJson"] as? [String: Double], name)
        let referenceOutput = try XCTUnwrap(try JSONSerialization.jsonObject(with: Fixtures.data("pipeline/\(name)"))
            as? [String: Any])
        let referenceScores = try XCTUnwrap(referenceOutput["scoreJson"] as? [String: Double])
        for k in [1, 5, 10] {
            var certain = 0, possible = 0
            for (query, id) in queryIDs.enumerated() {
                let relevant = Set(truth[id] ?? [])
                let sets = ranking.possibleTopSets(query: query, k: k)
                if !relevant.isDisjoint(with: sets.certain) { certain += 1 }
                if !relevant.isDisjoint(with: sets.possible) { possible += 1 }
            }
            let count = Double(truth.count)
            let recall = try XCTUnwrap(scores["r\(k)"])
            XCTAssertGreaterThanOrEqual(recall, Double(certain) * 100 / count - 1e-9, "\(name) r\(k)")
            XCTAssertLessThanOrEqual(recall, Double(possible) * 100 / count + 1e-9, "\(name) r\(k)")
            if certain == possible { XCTAssertEqual(recall, referenceScores["r\(k)"], "\(name) r\(k) is fixed") }
        }
    }

    /// Same ids in the same order, every value within `tolerance`, each line in the reference's layout.
    private func assertFeaturesMatch(_ name: String, kind: FeatureRecord.Kind) throws {
        let ours = try FeatureJSONLReader(path: path(name), kind: kind).readAll()
        let reference = try FeatureJSONLReader(path: Fixtures.url("pipeline/\(name)").path, kind: kind).readAll()
        XCTAssertEqual(ours.map(\.id), reference.map(\.id), name)
        var worst: Float = 0
        for (a, b) in zip(ours, reference) {
            XCTAssertEqual(a.feature.count, b.feature.count)
            for (x, y) in zip(a.feature, b.feature) { worst = max(worst, abs(x - y)) }
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(name): max |difference| \(worst)")
        let lines = try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, ours.map { $0.jsonLine(kind: kind) }, "\(name): lines are json.dumps of the records")
    }

    func testUndecodableImageNamesKeyAndLeavesNoOutput() throws {
        let garbage = Data("not an image at all".utf8).base64EncodedString()
        let good = try String(contentsOf: Fixtures.url("pipeline/test_imgs.tsv"), encoding: .utf8).split(separator: "\n")[0]
        try Data("\(good)\n555\t\(garbage)\n".utf8).write(to: scratch.appendingPathComponent("test_imgs.tsv"))
        try Data("{\"text_id\": 1, \"text\": \"a\", \"image_ids\": [555]}\n".utf8)
            .write(to: scratch.appendingPathComponent("test_texts.jsonl"))
        try LMDBBuilder(dataDirectory: scratch.path, report: { _ in }).build(splits: ["test"])
        let output = path("out.img_feat.jsonl")
        do {
            let writer = try FeatureJSONLWriter(path: output, kind: .image)
            XCTAssertThrowsError(try extractor().extractImages(lmdbPath: path("lmdb/test/imgs"), batchSize: 4, into: writer)) {
                guard case let .malformedValue(lmdb, key, _)? = $0 as? DatasetError else {
                    return XCTFail("unexpected error \($0)")
                }
                XCTAssertEqual(lmdb, path("lmdb/test/imgs"))
                XCTAssertEqual(key, "555")
            }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".") || $0.hasPrefix("out") }
        XCTAssertEqual(left, [], "an unfinished writer leaves no file")
    }

    func testTextFileErrorsNameFileAndLine() throws {
        let cases: [(String, String)] = [
            ("{\"text_id\": 1, \"text\": \"a\"}\n{\"text_id\": 1, \"text\": \"b\"}\n", "duplicate text_id 1 (first on line 1)"),
            ("{\"text_id\": 1, \"text\": \"a\"}\n{\"text_id\": 2, \"text\": \n", "invalid JSON"),
            ("{\"text_id\": \"x\", \"text\": \"a\"}\n", "text_id is not a 64-bit integer (str)"),
            ("{\"text_id\": 3}\n", "missing field \"text\""),
        ]
        for (content, reason) in cases {
            let file = path("texts.jsonl")
            try Data(content.utf8).write(to: URL(fileURLWithPath: file))
            XCTAssertThrowsError(try EvalText.readAll(path: file)) { error in
                guard case let .malformedLine(name, line, message)? = error as? DatasetError else {
                    return XCTFail("unexpected error \(error)")
                }
                XCTAssertEqual(name, file)
                XCTAssertEqual(line, content.split(separator: "\n").count)
                XCTAssertTrue(message.hasPrefix(reason), message)
            }
        }
        XCTAssertEqual(try EvalText.readAll(path: Fixtures.url("pipeline/test_texts.jsonl").path).prefix(2),
                       [EvalText(id: 11, text: "一只可爱的小猫坐在沙发上"), EvalText(id: 3, text: "海边的日落")])
    }
}
