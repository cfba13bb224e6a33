import Foundation
import SearchIndex
import XCTest

/// faiss HNSW and IVF-Flat over random unit vectors: recall@10 against exact search, incremental adds, rebuild on removal.
final class ApproximateSearchTests: XCTestCase {
    private func check(kind: ANNKind, minimumRecall: Double) throws {
        let dimension = 32, rows = 2_500
        let directory = try SearchFixture.temporaryDirectory("ann-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let features = randomUnitVectors(count: rows + 300, dimension: dimension, seed: 11)
        let paths = (0..<(rows + 300)).map { "/ann/\($0)" }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: dimension),
                                       model: syntheticIdentity())
        _ = try indexer.add(precomputed: Array(features[0..<(rows * dimension)]), paths: Array(paths[0..<rows]))
        let built = try indexer.buildANN(kind: kind, tuning: .breadth(kind.defaultBreadth))
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
        XCTAssertEqual(updated?.added, 300)
        XCTAssertEqual(updated?.rebuilt, false)
        XCTAssertEqual(updated?.rows, rows + 300)

        // Removal rebuilds, and a removed image is never returned.
        XCTAssertEqual(try indexer.remove(paths: [paths[rows + 3]]), 1)
        try index.reload()
        XCTAssertEqual(index.info.ann?.rows, rows + 300)
        let hits = try index.search(probe, k: 10, mode: .approximate)
        XCTAssertFalse(hits.contains { $0.id == extraIds[3] })
        XCTAssertEqual(hits.count, 10)
    }

    func testHNSWRecallAgainstExact() throws { try check(kind: .hnsw, minimumRecall: 0.9) }

    func testIVFFlatRecallAgainstExact() throws { try check(kind: .ivf, minimumRecall: 0.5) }

    /// A gallery for the tuning tests, with its indexer.
    private func tuningGallery(_ name: String, rows: Int = 3_000) throws -> (URL, ImageIndexer) {
        let dimension = 32
        let directory = try SearchFixture.temporaryDirectory(name)
        let features = randomUnitVectors(count: rows, dimension: dimension, seed: 21)
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: dimension),
                                       model: syntheticIdentity())
        _ = try indexer.add(precomputed: features, paths: (0..<rows).map { "/tune/\($0)" })
        return (directory, indexer)
    }

    /// The breadth chosen is the narrowest measured one that reaches the target; the service's reader uses it.
    func testTuningPicksNarrowestBreadthReachingTarget() throws {
        let (directory, indexer) = try tuningGallery("ann-tune")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try indexer.buildANN(kind: .hnsw, tuning: .targetRecall(0.97))
        XCTAssertEqual(report.tuning, .targetRecall(0.97))
        XCTAssertGreaterThanOrEqual(report.recallAt10, 0.97, "\(report.curve)")
        XCTAssertEqual(report.curve.last?.breadth, report.breadth, "the search stops at the first breadth reaching the target")
        XCTAssertTrue(report.curve.dropLast().allSatisfy { $0.recallAt10 < 0.97 })
        XCTAssertEqual(report.curve.map(\.breadth), Array(ANNKind.hnsw.candidateBreadths(lists: 0).prefix(report.curve.count)))
        let reader = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertEqual(reader.info.ann?.breadth, report.breadth)
        XCTAssertEqual(reader.info.ann?.recallAt10, report.recallAt10)
    }

    /// IVF probing every list is an exhaustive search: recall 1 exactly. A target of 1 is therefore always reached
    /// (the candidates end at every list), and a breadth past the list count searches everything.
    func testIVFAtEveryListIsExact() throws {
        let (directory, indexer) = try tuningGallery("ann-ivf-exact")
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertEqual(try indexer.buildANN(kind: .ivf, tuning: .targetRecall(1)).recallAt10, 1)
        let everything = try indexer.buildANN(kind: .ivf, tuning: .breadth(100_000))
        XCTAssertEqual(everything.recallAt10, 1)
        let reader = try ImageIndex.open(directory: directory, readOnly: true)
        let queries = randomUnitVectors(count: 40, dimension: 32, seed: 22)
        XCTAssertEqual(try reader.recall(queries: queries, k: 10), 1, accuracy: 1e-12)
    }

    /// A fixed breadth is used as given, recorded, and kept by later updates.
    func testFixedBreadthIsKeptByUpdates() throws {
        let (directory, indexer) = try tuningGallery("ann-fixed")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try indexer.buildANN(kind: .hnsw, tuning: .breadth(12))
        XCTAssertEqual(report.breadth, 12)
        XCTAssertEqual(report.curve.map(\.breadth), [12])
        _ = try indexer.add(precomputed: randomUnitVectors(count: 50, dimension: 32, seed: 23), paths: (0..<50).map { "/more/\($0)" })
        var options = ImageIndexer.Options()
        options.ann = .hnsw
        let updated = try XCTUnwrap(try indexer.add(paths: [], options: options).ann)
        XCTAssertEqual(updated.added, 50)
        XCTAssertEqual(updated.tuning, .breadth(12))
        XCTAssertEqual(updated.breadth, 12)
        XCTAssertEqual(try ImageIndex.open(directory: directory, readOnly: true).info.ann?.breadth, 12)
    }
}
