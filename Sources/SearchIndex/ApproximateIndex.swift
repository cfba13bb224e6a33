import CFaiss
import Foundation

/// A faiss index (HNSW or IVF-Flat, inner product) whose ids are feature rows; through the CFaiss shim.
final class ApproximateIndex: @unchecked Sendable {
    static let fileName = "ann.faiss"
    /// HNSW graph degree (faiss `M`).
    static let hnswNeighbours: Int32 = 32
    /// HNSW efConstruction: candidates kept while inserting; more builds slower and gives a better graph.
    static let hnswConstructionBreadth: Int32 = 40

    private let handle: OpaquePointer
    let kind: ANNKind
    let dimension: Int

    private init(handle: OpaquePointer, kind: ANNKind) {
        self.handle = handle
        self.kind = kind
        dimension = Int(cfaiss_dimension(handle))
    }

    deinit { cfaiss_free(handle) }

    /// A new empty index. IVF needs `train` before `add`.
    static func make(kind: ANNKind, dimension: Int, rows: Int) throws -> ApproximateIndex {
        let handle = try call { error, size -> OpaquePointer? in
            switch kind {
            case .hnsw: return cfaiss_new_hnsw(Int32(dimension), hnswNeighbours, hnswConstructionBreadth, error, size)
            case .ivf: return cfaiss_new_ivf_flat(Int32(dimension), Int32(ivfLists(rows: rows)), error, size)
            }
        }
        let index = ApproximateIndex(handle: handle, kind: kind)
        index.setBreadth(kind.defaultBreadth)
        return index
    }

    /// √rows inverted lists (4 at least, and at most rows/39 so that training has ~39 points per list).
    static func ivfLists(rows: Int) -> Int {
        max(1, min(Int(Double(rows).squareRoot()), max(rows / 39, 1), 65_536))
    }

    /// The index written at `path`, searching with `breadth` (the kind's default when nil).
    static func read(path: String, kind: ANNKind, breadth: Int?) throws -> ApproximateIndex {
        let handle = try call { error, size in cfaiss_read(path, error, size) }
        let index = ApproximateIndex(handle: handle, kind: kind)
        index.setBreadth(breadth ?? kind.defaultBreadth)
        return index
    }

    var count: Int { Int(cfaiss_count(handle)) }
    var isTrained: Bool { cfaiss_is_trained(handle) != 0 }

    /// HNSW efSearch or IVF nprobe.
    func setBreadth(_ breadth: Int) { cfaiss_set_search_breadth(handle, Int32(breadth)) }

    func train(_ vectors: [Float]) throws {
        try Self.check { error, size in cfaiss_train(handle, Int64(vectors.count / dimension), vectors, error, size) }
    }

    func add(_ vectors: [Float], rows: [Int64]) throws {
        precondition(vectors.count == rows.count * dimension)
        guard !rows.isEmpty else { return }
        try Self.check { error, size in cfaiss_add(handle, Int64(rows.count), vectors, rows, error, size) }
    }

    /// The k best (row, score) of each query, best first (fewer where the index has fewer).
    func search(_ queries: [Float], queryCount: Int, k: Int) throws -> [[(row: Int, score: Float)]] {
        guard k > 0, queryCount > 0 else { return Array(repeating: [], count: queryCount) }
        var scores = [Float](repeating: 0, count: queryCount * k)
        var ids = [Int64](repeating: -1, count: queryCount * k)
        try Self.check { error, size in cfaiss_search(handle, Int64(queryCount), queries, Int64(k), &scores, &ids, error, size) }
        return (0..<queryCount).map { query in
            (0..<k).compactMap { column in
                let id = ids[query * k + column]
                return id < 0 ? nil : (Int(id), scores[query * k + column])
            }
        }
    }

    /// Writes to `path` atomically: a temporary file beside it, fsynced, renamed into place.
    func write(to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try Self.check { error, size in cfaiss_write(handle, temporary, error, size) }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw IndexError.io(path: path, reason: "rename: \(String(cString: strerror(errno)))")
        }
        syncDirectory(of: path)
    }

    private static func call(_ body: (UnsafeMutablePointer<CChar>, Int) -> OpaquePointer?) throws -> OpaquePointer {
        var buffer = [CChar](repeating: 0, count: 512)
        let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        guard let result else { throw IndexError.ann(reason: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        return result
    }

    private static func check(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var buffer = [CChar](repeating: 0, count: 512)
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        guard status == 0 else { throw IndexError.ann(reason: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }
}
