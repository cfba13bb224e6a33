import Foundation
import SearchIndex
import XCTest

/// Exact search against an independent Double computation, with tombstones, thresholds, paging and fp16 storage.
final class ExactSearchTests: XCTestCase {
    /// Ranks by a Double dot product over the stored (fp32 or fp16-rounded) values; ties cannot occur with random data.
    private func bruteForce(_ features: [Float], live: [Bool], query: [Float], dimension: Int) -> [(row: Int, score: Double)] {
        (0..<live.count).filter { live[$0] }.map { row in
            var sum = 0.0
            for j in 0..<dimension { sum += Double(features[row * dimension + j]) * Double(query[j]) }
            return (row, sum)
        }.sorted { $0.score > $1.score }
    }

    private func check(dtype: FeatureDType) throws {
        let dimension = 48, rows = 5_000  // more than one 4096-row GEMM block
        let directory = try SearchFixture.temporaryDirectory("exact")
        defer { try? FileManager.default.removeItem(at: directory) }
        let features = randomUnitVectors(count: rows, dimension: dimension, seed: 7)
        let paths = (0..<rows).map { "/synthetic/\($0).png" }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: dimension),
                                       model: syntheticIdentity(), dtype: dtype)
        let ids = try indexer.add(precomputed: features, paths: paths, width: 3, height: 4)
        // Remove every 7th image: its row stays in the file as a tombstone and must never be returned.
        let removedPaths = stride(from: 0, to: rows, by: 7).map { paths[$0] }
        XCTAssertEqual(try indexer.remove(paths: removedPaths), removedPaths.count)
        let live = (0..<rows).map { $0 % 7 != 0 }
        let stored = dtype == .float16 ? features.map { Float(Float16($0)) } : features

        let index = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertEqual(index.info.count, rows - removedPaths.count)
        XCTAssertEqual(index.info.rows, rows)
        XCTAssertEqual(index.info.dtype, dtype)
        let queries = randomUnitVectors(count: 5, dimension: dimension, seed: 99)
        for q in 0..<5 {
            let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
            let expected = bruteForce(stored, live: live, query: query, dimension: dimension)
            let hits = try index.search(query, k: 25, mode: .exact)
            XCTAssertEqual(hits.map(\.id), expected.prefix(25).map { ids[$0.row] })
            for (hit, truth) in zip(hits, expected) {
                XCTAssertEqual(Double(hit.score), truth.score, accuracy: 1e-5)
                XCTAssertEqual(hit.path, paths[truth.row])
                XCTAssertEqual([hit.width, hit.height], [3, 4])
            }
            // Paging: offset 10 continues the same ranking.
            XCTAssertEqual(try index.search(query, k: 10, offset: 10).map(\.id), expected[10..<20].map { ids[$0.row] })
            // Threshold: exactly the results scoring at least it (here the top 6's last score).
            let threshold = Float(expected[5].score) - 1e-6
            let above = try index.search(query, k: 100, threshold: threshold)
            XCTAssertEqual(above.map(\.id), expected.prefix(6).map { ids[$0.row] })
        }
        // The stored feature comes back (rounded to fp16 when stored so).
        XCTAssertEqual(index.feature(id: ids[1]), Array(stored[dimension..<(2 * dimension)]))
        XCTAssertNil(index.feature(id: ids[0]))
        XCTAssertNil(index.record(id: ids[0]))
        XCTAssertEqual(index.record(id: ids[1])?.path, paths[1])
    }

    func testExactSearchEqualsDoubleBruteForceFloat32() throws { try check(dtype: .float32) }

    func testExactSearchEqualsDoubleBruteForceFloat16() throws {
        try check(dtype: .float16)
        // fp16 storage takes half the bytes per row.
        let directory = try SearchFixture.temporaryDirectory("fp16size")
        defer { try? FileManager.default.removeItem(at: directory) }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: 32),
                                       model: syntheticIdentity(), dtype: .float16)
        _ = try indexer.add(precomputed: randomUnitVectors(count: 10, dimension: 32, seed: 1), paths: (0..<10).map { "/s/\($0)" })
        let size = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("features.f16").path)[.size] as? NSNumber
        XCTAssertEqual(size?.intValue, 10 * 32 * 2)
    }

    func testBadQueriesAreRefused() throws {
        let directory = try SearchFixture.temporaryDirectory("badquery")
        defer { try? FileManager.default.removeItem(at: directory) }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: 8), model: syntheticIdentity())
        _ = try indexer.add(precomputed: randomUnitVectors(count: 3, dimension: 8, seed: 2), paths: ["/a", "/b", "/c"])
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertThrowsError(try index.search([Float](repeating: 0, count: 7), k: 1)) { error in
            XCTAssertTrue("\(error)".contains("7 values"), "\(error)")
        }
        XCTAssertThrowsError(try index.search([Float](repeating: .nan, count: 8), k: 1))
        XCTAssertThrowsError(try index.search([Float](repeating: 0, count: 8), k: -1))
        XCTAssertThrowsError(try index.search([Float](repeating: 0, count: 8), k: 1, mode: .approximate))
        XCTAssertThrowsError(try ImageIndex.open(directory: directory.appendingPathComponent("nothing"), readOnly: true)) { error in
            XCTAssertTrue("\(error)".contains("not an index"), "\(error)")
        }
    }

    func testReloadSeesRowsCommittedByAWriter() throws {
        let directory = try SearchFixture.temporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(at: directory) }
        let indexer = try ImageIndexer(directory: directory, embedder: DimensionOnlyEmbedder(dimension: 8), model: syntheticIdentity())
        let features = randomUnitVectors(count: 20, dimension: 8, seed: 3)
        _ = try indexer.add(precomputed: Array(features[0..<80]), paths: (0..<10).map { "/r/\($0)" })
        let reader = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertEqual(reader.info.count, 10)
        let ids = try indexer.add(precomputed: Array(features[80...]), paths: (10..<20).map { "/r/\($0)" })
        XCTAssertEqual(reader.info.count, 10, "a snapshot does not change by itself")
        try reader.reload()
        XCTAssertEqual(reader.info.count, 20)
        // The new rows are searchable: each one is its own best match.
        XCTAssertEqual(try reader.search(Array(features[(15 * 8)..<(16 * 8)]), k: 1).first?.id, ids[5])
    }
}
