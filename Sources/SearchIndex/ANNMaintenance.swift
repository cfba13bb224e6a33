import Foundation

/// How the approximate index's search breadth (HNSW efSearch, IVF nprobe) is chosen when it is written.
public enum ANNTuning: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The narrowest candidate breadth whose recall@10 against exact search reaches this value (or the best one
    /// when none does).
    case targetRecall(Double)
    /// Always this breadth.
    case breadth(Int)

    /// The default: recall@10 ≥ 0.95.
    public static let standard = ANNTuning.targetRecall(0.95)

    public var description: String {
        switch self {
        case .targetRecall(let recall): return "recall \(recall)"
        case .breadth(let breadth): return "breadth \(breadth)"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let tuning = ANNTuning(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ANN tuning: \(text)")
        }
        self = tuning
    }

    /// The form `description` writes (kept in the index's meta so that later updates tune the same way).
    init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "recall": guard let value = Double(parts[1]) else { return nil }; self = .targetRecall(value)
        case "breadth": guard let value = Int(parts[1]) else { return nil }; self = .breadth(value)
        default: return nil
        }
    }
}

/// Recall and speed of the approximate index at one search breadth.
public struct ANNBreadthPoint: Sendable, Codable, Equatable {
    /// HNSW efSearch or IVF nprobe.
    public let breadth: Int
    public let recallAt10: Double
    /// Mean milliseconds per query (queries searched one batch at a time).
    public let millisecondsPerQuery: Double
}

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
    /// The search breadth chosen (HNSW efSearch or IVF nprobe) and how it was chosen.
    public let breadth: Int
    public let tuning: ANNTuning
    /// Mean recall@10 at `breadth` of the approximate top 10 against the exact top 10, over `recallQueries`
    /// queries made from the index's own rows (see `ANNMaintenance.recallQueries`).
    public let recallAt10: Double
    public let recallQueries: Int
    /// Every breadth measured, narrowest first.
    public let curve: [ANNBreadthPoint]
}

/// Keeps `ann.faiss` in step with the feature rows: adds rows committed since it was written, or rebuilds it from
/// the live rows when rows died since (faiss HNSW cannot delete), then records the covered row count in `meta`; and
/// chooses the search breadth by measuring recall against exact search.
struct ANNMaintenance {
    let directory: URL
    let writer: IndexWriter

    /// Queries used to measure recall.
    static let recallQueryLimit = 200

    /// - Parameter tuning: how to choose the breadth; nil keeps the way recorded when the index was last written
    ///   (`ANNTuning.standard` for a new one).
    func update(kind: ANNKind, forceRebuild: Bool, tuning: ANNTuning? = nil) throws -> ANNReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let index = try ImageIndex(directory: directory, database: writer.database, readOnly: false)
        let snapshot = index.snapshot
        let rows = snapshot.matrix.rows
        let tombstones = rows - snapshot.liveCount
        let meta = snapshot.meta
        let recorded = meta[MetaKey.annTuning].flatMap(ANNTuning.init) ?? .standard
        let tuning = tuning ?? recorded
        let path = directory.appendingPathComponent(ApproximateIndex.fileName).path
        let canExtend = !forceRebuild && meta[MetaKey.annKind] == kind.rawValue && Int(meta[MetaKey.annTombstones] ?? "") == tombstones
            && snapshot.ann != nil
        if canExtend, tuning == recorded, let loaded = snapshot.ann, loaded.rows == rows,
           let recall = Double(meta[MetaKey.annRecall] ?? "") {
            // Nothing new since the last write.
            return ANNReport(kind: kind, rows: rows, added: 0, rebuilt: false, seconds: 0, breadth: loaded.breadth, tuning: tuning,
                             recallAt10: recall, recallQueries: Int(meta[MetaKey.annRecallQueries] ?? "") ?? 0, curve: [])
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
                                     MetaKey.annTombstones: String(tombstones), MetaKey.annTuning: tuning.description])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try index.reload()
        let (breadth, curve, queryCount) = try tune(index, tuning: tuning)
        let recall = curve.first { $0.breadth == breadth }?.recallAt10 ?? 0
        try writer.database.setMeta([MetaKey.annBreadth: String(breadth), MetaKey.annRecall: String(recall),
                                     MetaKey.annRecallQueries: String(queryCount)])
        return ANNReport(kind: kind, rows: rows, added: added, rebuilt: firstRow == 0, seconds: seconds, breadth: breadth,
                         tuning: tuning, recallAt10: recall, recallQueries: queryCount, curve: curve)
    }

    /// Measures recall@10 (and time per query) at each candidate breadth, or at the fixed one, and picks the
    /// breadth `tuning` asks for. Exact results are computed once.
    private func tune(_ index: ImageIndex, tuning: ANNTuning) throws -> (breadth: Int, curve: [ANNBreadthPoint], queries: Int) {
        let snapshot = index.snapshot
        guard let loaded = snapshot.ann else { throw IndexError.ann(reason: "the approximate index was not loaded after writing it") }
        let queries = Self.recallQueries(snapshot, limit: Self.recallQueryLimit)
        let k = 10
        let truth = try snapshot.topRows(queries, n: k, mode: .exact).map { Set($0.map(\.row)) }
        let candidates: [Int]
        switch tuning {
        case .breadth(let breadth): candidates = [breadth]
        case .targetRecall: candidates = loaded.index.kind.candidateBreadths(lists: ApproximateIndex.ivfLists(rows: snapshot.liveCount))
        }
        var curve: [ANNBreadthPoint] = []
        for breadth in candidates {
            loaded.lock.withLock { loaded.index.setBreadth(breadth) }
            let start = DispatchTime.now().uptimeNanoseconds
            let found = try snapshot.topRows(queries, n: k, mode: .approximate)
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(max(queries.count, 1))
            var total = 0.0
            for (query, hits) in found.enumerated() {
                let want = truth[query]
                guard !want.isEmpty else { total += 1; continue }
                total += Double(hits.filter { want.contains($0.row) }.count) / Double(want.count)
            }
            curve.append(ANNBreadthPoint(breadth: breadth, recallAt10: queries.isEmpty ? 1 : total / Double(queries.count),
                                         millisecondsPerQuery: milliseconds))
            if case .targetRecall(let target) = tuning, curve.last!.recallAt10 >= target { break }
        }
        let chosen: ANNBreadthPoint
        switch tuning {
        case .breadth: chosen = curve[0]
        case .targetRecall(let target):
            chosen = curve.first { $0.recallAt10 >= target } ?? curve.max { $0.recallAt10 < $1.recallAt10 }!
        }
        loaded.lock.withLock { loaded.index.setBreadth(chosen.breadth) }
        return (chosen.breadth, curve, queries.count)
    }

    /// Up to `limit` recall queries: the normalised midpoint of two stored rows far apart in storage order. A stored
    /// row would always find itself (an easy, optimistic query); a midpoint lies between images, as a text query
    /// lies off the images' own cloud, and no row equals it.
    static func recallQueries(_ snapshot: Snapshot, limit: Int) -> [[Float]] {
        let rows = sampleRows(snapshot, limit: limit)
        guard rows.count > 1 else { return rows.map { snapshot.matrix.row($0) } }
        return rows.indices.map { position in
            let first = snapshot.matrix.row(rows[position])
            let second = snapshot.matrix.row(rows[(position + rows.count / 2) % rows.count])
            var sum = zip(first, second).map { $0 + $1 }
            let norm = sum.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { sum = sum.map { $0 / norm } }
            return sum
        }
    }

    /// Up to `limit` live feature rows, evenly spaced.
    private static func sampleRows(_ snapshot: Snapshot, limit: Int) -> [Int] {
        let live = snapshot.rowIds.indices.filter { snapshot.rowIds[$0] >= 0 }
        let step = max(1, live.count / max(limit, 1))
        return Array(stride(from: 0, to: live.count, by: step).prefix(limit).map { live[$0] })
    }

    /// Up to `limit` live feature rows, evenly spaced, concatenated.
    private func sample(_ snapshot: Snapshot, limit: Int) -> [Float] {
        Self.sampleRows(snapshot, limit: limit).flatMap { snapshot.matrix.row($0) }
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
