import Tensor

/// Exact inner-product top-k of every query over a gallery streamed in blocks, as `make_topk_predictions.py`
/// ranks: score = float32 dot product, best score first, ties to the earlier gallery item.
///
/// Scores come from one GEMM per (query block × gallery block) through `matmul`; a bounded heap per query keeps
/// the k best. All GEMMs of a run have the same shape (the last query and gallery blocks are padded), so every
/// score is computed by the same BLAS code path and identical gallery rows get bit-identical scores (exact ties
/// stay ties). Memory: the queries, one score block and the heaps; the gallery is never held here.
///
/// Residual risk: the reference scores on a GPU (cuBLAS); this scores with OpenBLAS `sgemm`, whose K-blocking
/// is the one the reference's CPU run uses, and the committed fixtures (ties, duplicates, random unit vectors) rank
/// identically to that CPU run. A different summation order can still change a score in its last bit, so two
/// different gallery items whose scores lie within about one ulp may swap places relative to a GPU run.
public final class ExactTopKSearch {
    public let k: Int
    public let dimension: Int
    public let queryCount: Int
    /// Gallery items seen so far.
    public private(set) var galleryCount = 0

    private let queryBlockRows: Int
    /// `[queryBlocks × queryBlockRows, dimension]`, zero rows after the last query.
    private let queries: Tensor
    private var galleryBlockRows: Int?
    private var scores: Tensor?
    private let heaps: UnsafeMutablePointer<HeapEntry>
    private let heapSizes: UnsafeMutableBufferPointer<Int>

    /// `queries` holds `queries.count / dimension` row-major query vectors. `queryBlockRows` bounds the score block
    /// (queryBlockRows × gallery block floats); blocks have at least 2 rows so no GEMM degenerates to a GEMV.
    public init(queries values: [Float], dimension: Int, k: Int, queryBlockRows: Int = 256) throws {
        guard dimension > 0, values.count % dimension == 0, k >= 0, queryBlockRows > 0 else {
            throw TensorError.invalidShape(op: "top-k search", shape: [values.count, dimension, k],
                                           reason: "needs dimension > 0 dividing the query values, k ≥ 0")
        }
        self.k = k
        self.dimension = dimension
        queryCount = values.count / dimension
        self.queryBlockRows = max(2, min(queryBlockRows, queryCount))
        let blocks = (queryCount + self.queryBlockRows - 1) / self.queryBlockRows
        let padded = Tensor(zeros: [max(blocks, 1) * self.queryBlockRows, dimension])
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { padded.storage.pointer.update(from: base, count: values.count) }
        }
        queries = padded
        heaps = .allocate(capacity: max(1, queryCount * k))
        heapSizes = .allocate(capacity: queryCount)
        heapSizes.initialize(repeating: 0)
    }

    deinit {
        heaps.deallocate()
        heapSizes.deallocate()
    }

    /// Scores the next `validRows` gallery items, the first rows of `block` (`[rows, dimension]`, row-major).
    /// Every block must have the same row count, except that a first block holding fewer valid rows than its size
    /// must be the only one (its rows are then used as they are).
    public func add(block: Tensor, validRows: Int) throws {
        guard block.rank == 2, block.shape[1] == dimension, (0...block.shape[0]).contains(validRows) else {
            throw TensorError.shapeMismatch(op: "top-k gallery block", lhs: block.shape, rhs: [validRows, dimension])
        }
        guard validRows > 0 else { return }
        var gallery = block
        if galleryBlockRows == nil {
            galleryBlockRows = validRows < block.shape[0] ? validRows : block.shape[0]
            if validRows < block.shape[0] { gallery = try block.sliced(axis: 0, range: 0..<validRows) }
        } else if block.shape[0] != galleryBlockRows || galleryCount % block.shape[0] != 0 {
            throw TensorError.shapeMismatch(op: "top-k gallery block (all blocks one size, a short one only last)",
                                            lhs: block.shape, rhs: [galleryBlockRows ?? 0, dimension])
        }
        let width = gallery.shape[0]
        let scores = self.scores ?? Tensor(zeros: [queryBlockRows, width])
        self.scores = scores
        if k > 0 {
            for queryStart in stride(from: 0, to: queryCount, by: queryBlockRows) {
                let queryBlock = try queries.sliced(axis: 0, range: queryStart..<(queryStart + queryBlockRows))
                try matmul(queryBlock, gallery, transposeB: true, into: scores)
                let rows = min(queryBlockRows, queryCount - queryStart)
                select(scores: scores.storage.pointer, width: width, validColumns: validRows,
                       queries: queryStart..<(queryStart + rows))
            }
        }
        galleryCount += validRows
    }

    /// Gallery indices of each query's k best items, best first (fewer when the gallery is smaller than k).
    public func results() -> [[Int]] {
        (0..<queryCount).map { query in
            let heap = UnsafeBufferPointer(start: heaps + query * k, count: heapSizes[query])
            return heap.sorted { $0.isBetter(than: $1) }.map { Int($0.index) }
        }
    }

    /// Offers row `queries.lowerBound + r` of the score block to query heaps, in parallel over queries.
    private func select(scores: UnsafeMutablePointer<Float>, width: Int, validColumns: Int, queries: Range<Int>) {
        let k = self.k, heaps = self.heaps, heapSizes = self.heapSizes, firstIndex = galleryCount
        Parallel.forRanges(queries.count, grain: max(1, 16_384 / validColumns)) { range in
            for row in range {
                let query = queries.lowerBound + row
                var heap = BoundedHeap(entries: heaps + query * k, capacity: k, count: heapSizes[query])
                heap.offer(scores + row * width, count: validColumns, firstIndex: firstIndex)
                heapSizes[query] = heap.count
            }
        }
    }
}

/// A gallery index with its score.
public struct HeapEntry: Sendable {
    public var score: Float
    public var index: Int

    public init(score: Float, index: Int) {
        self.score = score
        self.index = index
    }

    /// Ranking order of the reference's stable descending sort: higher score, then earlier gallery item.
    public func isBetter(than other: HeapEntry) -> Bool {
        score > other.score || (score == other.score && index < other.index)
    }
}

/// The k best entries seen so far in caller-owned memory, worst at the root.
public struct BoundedHeap {
    public let entries: UnsafeMutablePointer<HeapEntry>
    public let capacity: Int
    public private(set) var count: Int

    public init(entries: UnsafeMutablePointer<HeapEntry>, capacity: Int, count: Int) {
        self.entries = entries
        self.capacity = capacity
        self.count = count
    }

    /// Offers `count` scores of consecutive gallery items starting at `firstIndex`. A later item never beats an
    /// equal score already kept, so once full only a strictly higher score than the root's gets in.
    public mutating func offer(_ scores: UnsafePointer<Float>, count scoreCount: Int, firstIndex: Int) {
        var column = 0
        while column < scoreCount && count < capacity {
            push(HeapEntry(score: scores[column], index: firstIndex + column))
            column += 1
        }
        guard capacity > 0 else { return }
        var threshold = entries[0].score
        while column < scoreCount {
            let score = scores[column]
            if score > threshold {
                entries[0] = HeapEntry(score: score, index: firstIndex + column)
                siftDown(from: 0)
                threshold = entries[0].score
            }
            column += 1
        }
    }

    private mutating func push(_ entry: HeapEntry) {
        var child = count
        entries[child] = entry
        count += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[parent].isBetter(than: entries[child]) else { return }
            entries.swapAt(parent, child)
            child = parent
        }
    }

    private func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var worst = left
            let right = left + 1
            if right < count && entries[worst].isBetter(than: entries[right]) { worst = right }
            guard entries[parent].isBetter(than: entries[worst]) else { return }
            entries.swapAt(parent, worst)
            parent = worst
        }
    }
}

extension UnsafeMutablePointer {
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let value = self[i]
        self[i] = self[j]
        self[j] = value
    }
}
