import Foundation
import SearchIndex
import XCTest

/// faiss HNSW and IVF-Flat over random unit vectors: recall@10 against exact search, incremental adds, rebuild on removal.
final class ApproximateSearchTests: XCTestCase {
    private func check(kind: ANNKind, minimumRecall: Double) throws {
        let dimension = 32, rows = 4_000
        let directory = try SearchFixture.temporaryDirectory("ann-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let features = randomUnitVectors(count: rows + 500, dimension: dimension, seed: 11)
        let paths = (0..<(rows + 500)).map { "/ann/\($0)" }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: dimension),
                                       model: syntheticIdentity())
        _ = try indexer.add(precomputed: Array(features[0..<(rows * dimension)]), paths: Array(paths[0..<rows]))
        let built = try indexer.buildANN(kind: kind)
        XCTAssertEqual(built.kind, kind)
        XCTAssertEqual(built.rows, rows)
        XCTAssertTrue(built.rebuilt)
        XCTAssertGreaterThanOrEqual(built.recallAt10, minimumRecall)

        let index = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertEqual(index.info.ann?.kind, kind)
        let queries = randomUnitVectors(count: 50, dimension: dimension, seed: 12)
        let recall = try index.recall(queries: queries, k: 10)
        XCTAssertGreaterThanOrEqual(recall, minimumRecall, "\(kind) recall@10 \(recall)")
        XCTAssertLessThanOrEqual(recall, 1)

        // Rows committed after the build are found (searched exactly until the index is updated)...
        let extraIds = try indexer.add(precomputed: Array(features[(rows * dimension)...]), paths: Array(paths[rows...]))
        try index.reload()
        let probe = Array(features[((rows + 3) * dimension)..<((rows + 4) * dimension)])
        XCTAssertEqual(try index.search(probe, k: 1, mode: .approximate).first?.id, extraIds[3])
        // ...and an update adds only them.
        let options = { () -> ImageIndexer.Options in var o = ImageIndexer.Options(); o.ann = kind; return o }()
        let updated = try indexer.add(paths: [], options: options).ann
        XCTAssertEqual(updated?.added, 500)
        XCTAssertEqual(updated?.rebuilt, false)
        XCTAssertEqual(updated?.rows, rows + 500)

        // Removal rebuilds, and a removed image is never returned.
        XCTAssertEqual(try indexer.remove(paths: [paths[rows + 3]]), 1)
        try index.reload()
        XCTAssertEqual(index.info.ann?.rows, rows + 500)
        let hits = try index.search(probe, k: 10, mode: .approximate)
        XCTAssertFalse(hits.contains { $0.id == extraIds[3] })
        XCTAssertEqual(hits.count, 10)
    }

    func testHNSWRecallAgainstExact() throws { try check(kind: .hnsw, minimumRecall: 0.9) }

    func testIVFFlatRecallAgainstExact() throws { try check(kind: .ivf, minimumRecall: 0.5) }
}
