import Foundation
import Retrieval

/// An image index directory: `index.sqlite` (metadata, WAL), `features.f32` or `features.f16` (row-aligned
/// features, memory-mapped) and, when built, `ann.faiss` (approximate index over rows).
///
/// Opened read-only it serves searches while an `ImageIndexer` may add to the same directory in another process;
/// `reload()` picks up what that writer has committed since. All methods are safe to call from several threads:
/// searches run on an immutable snapshot, and `reload()` swaps in a new one.
public final class ImageIndex: @unchecked Sendable {
    /// The index directory.
    public let directory: URL
    public let readOnly: Bool
    /// The model the index was built with.
    public let model: ModelIdentity
    /// Feature dimension.
    public let dimension: Int
    /// How the feature file stores values.
    public let dtype: FeatureDType

    let database: IndexDatabase
    private let lock = NSLock()
    private var current: Snapshot

    /// Opens an existing index.
    /// - Throws: `IndexError.notAnIndex` when `directory` holds none, `.corruptMetadata`, `.corruptFeatureFile`, `.io`.
    public static func open(directory: URL, readOnly: Bool) throws -> ImageIndex {
        try ImageIndex(directory: directory, database: IndexDatabase(directory: directory, readOnly: readOnly, create: false),
                       readOnly: readOnly)
    }

    init(directory: URL, database: IndexDatabase, readOnly: Bool) throws {
        self.directory = directory
        self.database = database
        self.readOnly = readOnly
        let meta = try database.meta()
        func value(_ key: String) throws -> String {
            guard let value = meta[key] else {
                throw IndexError.corruptMetadata(directory: directory.path, key: key, reason: "missing")
            }
            return value
        }
        if let version = Int(meta[MetaKey.formatVersion] ?? ""), version > IndexDatabase.formatVersion {
            throw IndexError.corruptMetadata(directory: directory.path, key: MetaKey.formatVersion,
                                             reason: "version \(version) is newer than this program's \(IndexDatabase.formatVersion)")
        }
        model = ModelIdentity(visionModel: try value(MetaKey.visionModel), textModel: try value(MetaKey.textModel),
                              configJSON: try value(MetaKey.modelConfig), checkpointPath: try value(MetaKey.checkpointPath),
                              checkpointHash: try value(MetaKey.checkpointHash))
        guard let dimension = Int(try value(MetaKey.dimension)), dimension > 0 else {
            throw IndexError.corruptMetadata(directory: directory.path, key: MetaKey.dimension, reason: "not a positive integer")
        }
        guard let dtype = FeatureDType(rawValue: try value(MetaKey.dtype)) else {
            throw IndexError.corruptMetadata(directory: directory.path, key: MetaKey.dtype, reason: "not float32 or float16")
        }
        self.dimension = dimension
        self.dtype = dtype
        current = try Snapshot.load(directory: directory, database: database, dimension: dimension, dtype: dtype, previous: nil)
    }

    /// Refuses a query model other than the one the index was built with.
    /// - Throws: `IndexError.modelMismatch` naming both.
    public func check(model other: ModelIdentity) throws {
        guard model.matches(other) else {
            throw IndexError.modelMismatch(directory: directory.path, index: model.summary, requested: other.summary)
        }
    }

    /// The feature file's path.
    public var featurePath: String { Self.featurePath(directory: directory, dtype: dtype) }

    static func featurePath(directory: URL, dtype: FeatureDType) -> String {
        directory.appendingPathComponent(dtype == .float32 ? "features.f32" : "features.f16").path
    }

    var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Re-reads the committed state (rows added or removed by a writer since open or the last reload).
    public func reload() throws {
        let fresh = try Snapshot.load(directory: directory, database: database, dimension: dimension, dtype: dtype,
                                      previous: snapshot)
        lock.lock()
        current = fresh
        lock.unlock()
    }

    /// Counts, model and sizes as of the current snapshot.
    public var info: IndexInfo {
        let snapshot = self.snapshot
        let files = [IndexDatabase.fileName, IndexDatabase.fileName + "-wal", IndexDatabase.fileName + "-shm",
                     (featurePath as NSString).lastPathComponent, ApproximateIndex.fileName]
        let bytes = files.reduce(Int64(0)) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return IndexInfo(directory: directory.path, model: model, dimension: dimension, dtype: dtype,
                         count: snapshot.liveCount, rows: snapshot.matrix.rows, bytesOnDisk: bytes,
                         ann: snapshot.ann.map { ANNInfo(kind: $0.index.kind, rows: $0.rows, bytes: $0.bytes, breadth: $0.breadth,
                                                         recallAt10: Double(snapshot.meta[MetaKey.annRecall] ?? "")) })
    }

    /// The best `k` images for `query` (a normalised feature of length `dimension`), skipping the first `offset`;
    /// with a `threshold`, only scores ≥ it. Exact unless an approximate index is built (`mode` decides).
    /// - Throws: `IndexError.invalidQuery` for a wrong length, non-finite values or negative k/offset.
    public func search(_ query: [Float], k: Int, threshold: Float? = nil, offset: Int = 0,
                       mode: SearchMode = .automatic) throws -> [SearchHit] {
        try search(batch: [query], k: k, threshold: threshold, offset: offset, mode: mode)[0]
    }

    /// `search` for several queries at once (one GEMM per feature block for all of them).
    public func search(batch queries: [[Float]], k: Int, threshold: Float? = nil, offset: Int = 0,
                       mode: SearchMode = .automatic) throws -> [[SearchHit]] {
        guard k >= 0, offset >= 0 else { throw IndexError.invalidQuery(reason: "k and offset must be ≥ 0 (k \(k), offset \(offset))") }
        for query in queries {
            guard query.count == dimension else {
                throw IndexError.invalidQuery(reason: "the query has \(query.count) values, the index's features \(dimension)")
            }
            guard query.allSatisfy(\.isFinite) else { throw IndexError.invalidQuery(reason: "the query has non-finite values") }
        }
        let snapshot = self.snapshot
        let ranked = try snapshot.topRows(queries, n: offset + k, mode: mode)
        var hits: [[(row: Int, score: Float)]] = ranked.map { list in
            Array(list.filter { threshold == nil || $0.score >= threshold! }.dropFirst(offset))
        }
        let ids = Set(hits.joined().map { snapshot.rowIds[$0.row] })
        let records = try database.records(ids: Array(ids))
        return hits.indices.map { query in
            defer { hits[query] = [] }
            return hits[query].compactMap { hit in
                // A record removed after this snapshot was taken is left out.
                guard let record = records[snapshot.rowIds[hit.row]], Int(record.row) == hit.row else { return nil }
                return SearchHit(id: record.id, path: record.path, score: hit.score, width: record.width, height: record.height)
            }
        }
    }

    /// The stored record of image `id`, if it exists.
    public func record(id: Int64) -> ImageRecord? { try? database.record(id: id) }

    /// Every live record, in row order.
    public func records() throws -> [ImageRecord] { try database.allRecords() }

    /// Paths of indexed files that no longer exist (dataset images are not checked); `index add --prune` drops them.
    public func vanishedPaths() throws -> [String] {
        try database.allRecords().map(\.path).filter {
            !$0.hasPrefix("lmdb:") && !$0.hasPrefix("tsv:") && !FileManager.default.fileExists(atPath: $0)
        }
    }

    /// The encoded bytes of image `id` (the file, or its dataset entry), nil for an unknown id.
    /// - Throws: `IndexError.io` when the image is indexed but cannot be read.
    public func imageData(id: Int64) throws -> Data? {
        guard let record = record(id: id) else { return nil }
        return try DatasetImagePath.data(for: record.path)
    }

    /// The stored (normalised) feature of image `id`, if it exists in the current snapshot.
    public func feature(id: Int64) -> [Float]? {
        let snapshot = self.snapshot
        guard let record = record(id: id), Int(record.row) < snapshot.matrix.rows else { return nil }
        return snapshot.matrix.row(Int(record.row))
    }
}

/// One consistent view of the committed rows: the mapped features, row → id, and the approximate index.
final class Snapshot: @unchecked Sendable {
    let matrix: FeatureMatrix
    /// Image id of each row, -1 for tombstones.
    let rowIds: [Int64]
    let liveCount: Int
    let ann: LoadedANN?
    let meta: [String: String]

    struct LoadedANN {
        let index: ApproximateIndex
        let rows: Int
        let bytes: Int64
        let key: String
        /// HNSW efSearch or IVF nprobe it searches with.
        let breadth: Int
        let lock = NSLock()
    }

    init(matrix: FeatureMatrix, rowIds: [Int64], ann: LoadedANN?, meta: [String: String]) {
        self.matrix = matrix
        self.rowIds = rowIds
        liveCount = rowIds.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        self.ann = ann
        self.meta = meta
    }

    static func load(directory: URL, database: IndexDatabase, dimension: Int, dtype: FeatureDType,
                     previous: Snapshot?) throws -> Snapshot {
        let (rows, ids, meta) = try database.rowMap(previous: previous.map { ($0.rowIds, $0.meta[MetaKey.generation] ?? "0") })
        let matrix = try FeatureMatrix(path: ImageIndex.featurePath(directory: directory, dtype: dtype), rows: rows,
                                       dimension: dimension, dtype: dtype, previous: previous?.matrix)
        var ann: LoadedANN?
        if let kindName = meta[MetaKey.annKind], let kind = ANNKind(rawValue: kindName) {
            let annRows = min(Int(meta[MetaKey.annRows] ?? "0") ?? 0, rows)
            let path = directory.appendingPathComponent(ApproximateIndex.fileName).path
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let bytes = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let breadth = Int(meta[MetaKey.annBreadth] ?? "") ?? kind.defaultBreadth
            let key = "\(kindName) \(annRows) \(bytes) \(modified) \(meta[MetaKey.annTombstones] ?? "") \(breadth)"
            if let old = previous?.ann, old.key == key {
                ann = old
            } else if attributes != nil {
                ann = LoadedANN(index: try ApproximateIndex.read(path: path, kind: kind, breadth: breadth), rows: annRows,
                                bytes: bytes, key: key, breadth: breadth)
            }
        }
        return Snapshot(matrix: matrix, rowIds: ids, ann: ann, meta: meta)
    }

    /// Each query's best `n` live rows, best first.
    func topRows(_ queries: [[Float]], n: Int, mode: SearchMode) throws -> [[(row: Int, score: Float)]] {
        let flat = Array(queries.joined())
        let rows = matrix.rows
        if mode == .approximate && ann == nil { throw IndexError.ann(reason: "no approximate index is built (index build-ann)") }
        guard mode != .exact, let ann else {
            return ExactScan.topRows(queries: flat, queryCount: queries.count, matrix: matrix, rowIds: rowIds,
                                     range: 0..<rows, n: n).map { $0.map { ($0.index, Float($0.score)) } }
        }
        // Rows past the approximate index's coverage are scanned exactly and merged in.
        let tombstones = rowIds.prefix(ann.rows).reduce(0) { $0 + ($1 < 0 ? 1 : 0) }
        let found = try ann.lock.withLock {
            try ann.index.search(flat, queryCount: queries.count, k: min(n + tombstones, max(ann.index.count, 1)))
        }
        let tail = ExactScan.topRows(queries: flat, queryCount: queries.count, matrix: matrix, rowIds: rowIds,
                                     range: ann.rows..<rows, n: n)
        return queries.indices.map { query in
            var seen = Set<Int>()
            let merged = (found[query] + tail[query].map { ($0.index, Float($0.score)) })
                .filter { $0.row < rows && rowIds[$0.row] >= 0 && seen.insert($0.row).inserted }
                .sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
            return Array(merged.prefix(n))
        }
    }
}
