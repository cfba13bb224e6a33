import Tensor

/// Exact inner-product top-k of every query over a gallery streamed in blocks, as `make_topk_predictions.py`
/// ranks: best score first, ties to the earlier gallery item.
///
/// Scores come from one GEMM per (query block × gallery block) through `matmul`; a bounded heap per query keeps
/// the k best. The GEMM's fp32 score is only a filter: an item whose GEMM score comes within the GEMM's rounding
/// bound of the heap's worst entry is scored again by `exactScore` (float products summed in Double, in index
/// order), and the heap ranks by that score alone. So the ranking does not depend on the BLAS kernel: identical
/// gallery rows get identical scores wherever they sit in a block (a BLAS kernel's edge tiles may round them
/// differently: OpenBLAS's SSE kernels do), and exactly tied scores keep the earlier item first, as the reference's
/// fixtures (ties, duplicates, random unit vectors) rank. Two different items whose true scores lie within fp32
/// rounding of each other are ranked by the more accurate score, where the reference's fp32 GEMM may round
/// either way. Memory: the queries, one score block and the heaps; the gallery is never held here.
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
    /// Euclidean norm of every query, for the GEMM's rounding bound.
    private let queryNorms: [Double]

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
        queryNorms = (0..<queryCount).map { query in
            values[(query * dimension)..<((query + 1) * dimension)].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
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
            let galleryBase = UnsafePointer(gallery.storage.pointer + gallery.offset)
            let largestRowNorm = (0..<validRows).reduce(0.0) {
                max($0, Self.squaredNorm(galleryBase + $1 * dimension, dimension))
            }.squareRoot()
            for queryStart in stride(from: 0, to: queryCount, by: queryBlockRows) {
                let queryBlock = try queries.sliced(axis: 0, range: queryStart..<(queryStart + queryBlockRows))
                try matmul(queryBlock, gallery, transposeB: true, into: scores)
                let rows = min(queryBlockRows, queryCount - queryStart)
                select(scores: scores.storage.pointer, width: width, gallery: galleryBase, largestRowNorm: largestRowNorm,
                       validColumns: validRows,
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
    private func select(scores: UnsafeMutablePointer<Float>, width: Int, gallery galleryBase: UnsafePointer<Float>,
                        largestRowNorm: Double, validColumns: Int, queries: Range<Int>) {
        let k = self.k, heaps = self.heaps, heapSizes = self.heapSizes, firstIndex = galleryCount
        let dimension = self.dimension, queryBase = self.queries.storage.pointer + self.queries.offset
        let queryNorms = self.queryNorms
        Parallel.forRanges(queries.count, grain: max(1, 16_384 / validColumns)) { range in
            for row in range {
                let query = queries.lowerBound + row
                let queryVector = UnsafePointer(queryBase + query * dimension)
                var heap = BoundedHeap(entries: heaps + query * k, capacity: k, count: heapSizes[query])
                heap.offer(scores + row * width, count: validColumns, firstIndex: firstIndex,
                           margin: Self.roundingMargin(dimension: dimension, queryNorm: queryNorms[query],
                                                       largestRowNorm: largestRowNorm)) { column in
                    Self.exactScore(queryVector, galleryBase + column * dimension, dimension)
                }
                heapSizes[query] = heap.count
            }
        }
    }

    /// How far an fp32 GEMM score may lie from `exactScore`: |fp32 dot − exact| ≤ γ_d Σ|q_i g_i| ≤ γ_d ‖q‖‖g‖ with
    /// γ_d ≈ d·2⁻²⁴; doubled, plus the rounding of an exact score to Float, so a filter on GEMM scores with this
    /// margin never drops an item that truly beats the heap's worst.
    public static func roundingMargin(dimension: Int, queryNorm: Double, largestRowNorm: Double) -> Float {
        Float(Double(dimension + 2) * 0x1p-23 * queryNorm * largestRowNorm)
    }

    /// The score the ranking uses: float products (exact in Double) summed in Double in index order, so equal
    /// vectors always score equally, whatever the BLAS kernel.
    public static func exactScore(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count { sum += Double(a[i]) * Double(b[i]) }
        return sum
    }

    public static func squaredNorm(_ a: UnsafePointer<Float>, _ count: Int) -> Double {
        // Four independent sums, so the additions do not wait on each other (each product is exact in Double).
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count {
            let x0 = Double(a[i]), x1 = Double(a[i + 1]), x2 = Double(a[i + 2]), x3 = Double(a[i + 3])
            s0 += x0 * x0
            s1 += x1 * x1
            s2 += x2 * x2
            s3 += x3 * x3
            i += 4
        }
        while i < count {
            s0 += Double(a[i]) * Double(a[i])
            i += 1
        }
        return (s0 + s1) + (s2 + s3)
    }
}

/// A gallery index with its score.
public struct HeapEntry: Sendable {
    public var score: Double
    public var index: Int

    public init(score: Double, index: Int) {
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

    /// Offers `count` consecutive gallery items starting at `firstIndex`, with their GEMM scores. Entries are ranked
    /// by `exactScore(column)`; it is computed only where the GEMM score is within `margin` (the GEMM's rounding
    /// bound) of the worst kept entry or above it. A later item never beats an equal score already kept.
    public mutating func offer(_ scores: UnsafePointer<Float>, count scoreCount: Int, firstIndex: Int, margin: Float,
                        exactScore: (Int) -> Double) {
        var column = 0
        while column < scoreCount && count < capacity {
            push(HeapEntry(score: exactScore(column), index: firstIndex + column))
            column += 1
        }
        guard capacity > 0 else { return }
        var gate = Float(entries[0].score) - margin
        while column < scoreCount {
            if scores[column] >= gate {
                let entry = HeapEntry(score: exactScore(column), index: firstIndex + column)
                if entry.isBetter(than: entries[0]) {
                    entries[0] = entry
                    siftDown(from: 0)
                    gate = Float(entries[0].score) - margin
                }
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
