import Dataset
import Foundation
import Retrieval
import Tensor
import TestSupport
import XCTest

/// Exact top-k against the reference's make_topk_predictions(_tr).py outputs on feature files made to tie
/// (Scripts/fixtures/gen_pipeline.py, pipeline/ties), and against a brute-force ranking computed here.
final class TopKSearchTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("topk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Dyadic features (every score exact, many ties) and random unit vectors with duplicated gallery rows:
    /// byte-identical predictions for k = 10 and 50 (> gallery of 40), eval batch sizes 32768, 7 and 16.
    func testTiesMatchReferenceByteForByte() throws {
        for name in ["dyadic", "random"] {
            let images = Fixtures.url("pipeline/ties/\(name).img_feat.jsonl").path
            let texts = Fixtures.url("pipeline/ties/\(name).txt_feat.jsonl").path
            for (k, batch) in [(10, 32768), (10, 7), (50, 16)] {
                for (direction, suffix) in [(RetrievalDirection.textToImage, ""), (.imageToText, "_tr")] {
                    let predictions = try TopKPredictions.predict(imageFeatures: images, textFeatures: texts, topK: k,
                                                                  evalBatchSize: batch, direction: direction)
                    let reference = try Fixtures.data("pipeline/ties/\(name)\(suffix).top\(k).batch\(batch).jsonl")
                    XCTAssertEqual(Data(predictions.utf8), reference, "\(name)\(suffix) k=\(k) batch=\(batch)")
                }
            }
        }
    }

    /// Small integer features make every score exact, so a double-precision brute force with a stable sort is an
    /// independent oracle; block sizes, k and query counts cover padding, k > gallery, k = 0 and one query.
    func testMatchesBruteForceOnExactScores() throws {
        var state: UInt64 = 42
        func small() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 61)) - 3  // -3 ... 4: many exact ties
        }
        for (queries, gallery, dimension, k, blockRows) in [(7, 100, 5, 10, 16), (1, 33, 4, 5, 8), (300, 50, 3, 60, 50),
                                                            (5, 1, 2, 3, 4), (4, 20, 3, 0, 6), (2, 45, 6, 45, 45)] {
            let q = (0..<(queries * dimension)).map { _ in small() }
            let g = (0..<(gallery * dimension)).map { _ in small() }
            let search = try ExactTopKSearch(queries: q, dimension: dimension, k: k, queryBlockRows: 4)
            for start in stride(from: 0, to: gallery, by: blockRows) {
                let rows = min(blockRows, gallery - start)
                let values = Array(g[(start * dimension)..<((start + rows) * dimension)])
                    + [Float](repeating: 9, count: (blockRows - rows) * dimension)
                try search.add(block: Tensor(shape: [blockRows, dimension], data: values), validRows: rows)
            }
            let expected = (0..<queries).map { query -> [Int] in
                let scores = (0..<gallery).map { item in
                    (0..<dimension).reduce(0.0) { $0 + Double(q[query * dimension + $1]) * Double(g[item * dimension + $1]) }
                }
                let ranked = (0..<gallery).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                return Array(ranked.prefix(k))
            }
            XCTAssertEqual(search.results(), expected, "\(queries)x\(gallery)x\(dimension) k=\(k) block=\(blockRows)")
        }
    }

    /// Random (non-exact) scores: copies of one gallery row, placed in different blocks, at tile edges and in the
    /// padded last block, get bit-identical scores, so a query equal to that row ranks all copies first, in order.
    func testDuplicatedRowsTieAcrossBlocks() throws {
        let dimension = 67, gallery = 1_000, blockRows = 96
        var state: UInt64 = 7
        let g0 = (0..<(gallery * dimension)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        var g = g0
        let source = 500, copies = [0, 95, 96, 191, 383, 501, 900, 997, 999]
        for copy in copies {
            g.replaceSubrange((copy * dimension)..<((copy + 1) * dimension), with: g0[(source * dimension)..<((source + 1) * dimension)])
        }
        let query = Array(g[(source * dimension)..<((source + 1) * dimension)])
        let queries = query + Array(g0[0..<(4 * dimension)])
        let search = try ExactTopKSearch(queries: queries, dimension: dimension, k: 12, queryBlockRows: 3)
        for start in stride(from: 0, to: gallery, by: blockRows) {
            let rows = min(blockRows, gallery - start)
            let values = Array(g[(start * dimension)..<((start + rows) * dimension)])
                + [Float](repeating: 0, count: (blockRows - rows) * dimension)
            try search.add(block: Tensor(shape: [blockRows, dimension], data: values), validRows: rows)
        }
        XCTAssertEqual(Array(search.results()[0].prefix(copies.count + 1)), (copies + [source]).sorted())
    }

    func testBadFeatureFilesNameFileAndLineAndWriteNothing() throws {
        let good = "{\"image_id\": 1, \"feature\": [0.5, 0.25]}\n{\"image_id\": 2, \"feature\": [1, 0]}\n"
        let texts = scratch.appendingPathComponent("t.jsonl").path
        try Data("{\"text_id\": 9, \"feature\": [1.0, 2.0]}\n".utf8).write(to: URL(fileURLWithPath: texts))
        let cases: [(String, Int, String)] = [
            (good + "{\"image_id\": 3, \"feature\": [0.5]}\n", 3, "feature has 1 values, expected 2"),
            (good + "{\"image_id\": 1, \"feature\": [0.5, 0.5]}\n", 3, "duplicate image_id 1 (first on line 1)"),
            (good + "{\"image_id\": 4, \"feature\": [0.5, 0.5]\n", 3, "invalid JSON"),
            ("{\"image_id\": 4, \"feature\": []}\n", 1, "empty feature"),
            (good + "\n", 3, "invalid JSON"),
        ]
        let output = scratch.appendingPathComponent("predictions.jsonl").path
        for (content, line, reason) in cases {
            let images = scratch.appendingPathComponent("i.jsonl").path
            try Data(content.utf8).write(to: URL(fileURLWithPath: images))
            XCTAssertThrowsError(try TopKPredictions.run(imageFeatures: images, textFeatures: texts, topK: 10, evalBatchSize: 2,
                                                         output: output, direction: .textToImage, print: { _ in })) { error in
                guard case let .malformedLine(file, number, message)? = error as? DatasetError else {
                    return XCTFail("unexpected error \(error)")
                }
                XCTAssertEqual(file, images)
                XCTAssertEqual(number, line, message)
                XCTAssertTrue(message.hasPrefix(reason), message)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
        let missing = scratch.appendingPathComponent("missing.jsonl").path
        XCTAssertThrowsError(try TopKPredictions.run(imageFeatures: missing, textFeatures: texts, topK: 10, evalBatchSize: 2,
                                                     output: output, direction: .textToImage, print: { _ in })) { error in
            XCTAssertEqual(error as? DatasetError, .unreadableFile(file: missing, reason: "No such file or directory"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), ["i.jsonl", "t.jsonl"])
    }
}
