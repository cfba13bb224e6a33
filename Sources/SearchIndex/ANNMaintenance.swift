import Foundation

/// What building or updating the approximate index did, and how well it agrees with exact search.
public struct ANNReport: Sendable, Codable, Equatable {
    public let kind: ANNKind
    /// Rows covered.
    public let rows: Int
    /// Vectors added in this run.
    public let added: Int
    /// Whether the index was rebuilt from scratch (first build, kind change, or rows removed since the last build).
    public let rebuilt: Bool
    public let seconds: Double
    /// Mean recall@10 of the approximate top 10 against the exact top 10 for `recallQueries` stored features used as queries.
    public let recallAt10: Double
    public let recallQueries: Int
}

/// Keeps `ann.faiss` in step with the feature rows: adds rows committed since it was written, or rebuilds it from
/// the live rows when rows died since (faiss HNSW cannot delete), then records the covered row count in `meta`.
struct ANNMaintenance {
    let directory: URL
    let writer: IndexWriter

    func update(kind: ANNKind, forceRebuild: Bool) throws -> ANNReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let index = try ImageIndex(directory: directory, database: writer.database, readOnly: false)
        let snapshot = index.snapshot
        let rows = snapshot.matrix.rows
        let tombstones = rows - snapshot.liveCount
        let meta = snapshot.meta
        let path = directory.appendingPathComponent(ApproximateIndex.fileName).path
        let canExtend = !forceRebuild && meta[MetaKey.annKind] == kind.rawValue && Int(meta[MetaKey.annTombstones] ?? "") == tombstones
            && snapshot.ann != nil
        if canExtend, let loaded = snapshot.ann, loaded.rows == rows, let recall = Double(meta[MetaKey.annRecall] ?? "") {
            // Nothing new since the last write.
            return ANNReport(kind: kind, rows: rows, added: 0, rebuilt: false, seconds: 0, recallAt10: recall,
                             recallQueries: Int(meta[MetaKey.annRecallQueries] ?? "") ?? 0)
        }
        let ann: ApproximateIndex
        let firstRow: Int
        if canExtend, let loaded = snapshot.ann {
            ann = loaded.index
            firstRow = loaded.rows
        } else {
            ann = try ApproximateIndex.make(kind: kind, dimension: index.dimension, rows: snapshot.liveCount)
            firstRow = 0
            if !ann.isTrained { try ann.train(sample(snapshot, limit: max(ApproximateIndex.ivfLists(rows: snapshot.liveCount) * 64, 20_000))) }
        }
        var added = 0
        var scratch: [Float] = []
        for start in stride(from: firstRow, to: rows, by: 65_536) {
            let range = start..<min(start + 65_536, rows)
            let live = range.filter { snapshot.rowIds[$0] >= 0 }
            guard !live.isEmpty else { continue }
            var vectors: [Float] = []
            vectors.reserveCapacity(live.count * index.dimension)
            snapshot.matrix.withFloatRows(range, scratch: &scratch) { block in
                for row in live {
                    vectors += UnsafeBufferPointer(start: block + (row - range.lowerBound) * index.dimension, count: index.dimension)
                }
            }
            try ann.add(vectors, rows: live.map(Int64.init))
            added += live.count
        }
        try ann.write(to: path)
        try writer.database.setMeta([MetaKey.annKind: kind.rawValue, MetaKey.annRows: String(rows),
                                     MetaKey.annTombstones: String(tombstones)])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try index.reload()
        let queries = sample(index.snapshot, limit: 100)
        let recall = try index.recall(queries: queries, k: 10)
        try writer.database.setMeta([MetaKey.annRecall: String(recall), MetaKey.annRecallQueries: String(queries.count / index.dimension)])
        return ANNReport(kind: kind, rows: rows, added: added, rebuilt: firstRow == 0, seconds: seconds, recallAt10: recall,
                         recallQueries: queries.count / index.dimension)
    }

    /// Up to `limit` live feature rows, evenly spaced, concatenated.
    private func sample(_ snapshot: Snapshot, limit: Int) -> [Float] {
        let live = snapshot.rowIds.indices.filter { snapshot.rowIds[$0] >= 0 }
        let step = max(1, live.count / max(limit, 1))
        var values: [Float] = []
        for position in stride(from: 0, to: live.count, by: step).prefix(limit) {
            values += snapshot.matrix.row(live[position])
        }
        return values
    }
}

extension ImageIndex {
    /// Mean recall@k of the approximate index against exact search over the same queries (row-major, `dimension`
    /// values each): the fraction of each exact top k that the approximate top k also returns.
    /// - Throws: `IndexError.ann` when no approximate index is built.
    public func recall(queries: [Float], k: Int) throws -> Double {
        let count = queries.count / dimension
        guard count > 0, k > 0 else { return 1 }
        let snapshot = self.snapshot
        let batch = (0..<count).map { Array(queries[($0 * dimension)..<(($0 + 1) * dimension)]) }
        let exact = try snapshot.topRows(batch, n: k, mode: .exact)
        let approximate = try snapshot.topRows(batch, n: k, mode: .approximate)
        var total = 0.0
        for query in 0..<count {
            let truth = Set(exact[query].map(\.row))
            guard !truth.isEmpty else {
                total += 1
                continue
            }
            total += Double(approximate[query].filter { truth.contains($0.row) }.count) / Double(truth.count)
        }
        return total / Double(count)
    }
}
