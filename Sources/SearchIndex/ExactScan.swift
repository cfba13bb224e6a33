import Retrieval
import Tensor

/// Exact inner-product top-n of a few queries over feature rows: one GEMM per block of rows (queries × block) as a
/// filter, then Retrieval's bounded heaps ranking by `ExactTopKSearch.exactScore` (best score first, ties to the
/// earlier row; identical rows tie whatever the BLAS kernel). Tombstoned rows (id < 0) never rank. Blocks are
/// aligned to multiples of `blockRows`, so the largest row norm of each (for the rounding margin) is computed once
/// and cached in the matrix.
enum ExactScan {
    /// Rows per GEMM block: 4096 × 512 fp32 = 8 MB of features per block.
    static let blockRows = 4096

    /// For each query (row-major `queryCount × dimension`), the best `n` live rows within `range`, best first.
    static func topRows(queries: [Float], queryCount: Int, matrix: FeatureMatrix, rowIds: [Int64], range: Range<Int>,
                        n: Int) -> [[HeapEntry]] {
        let dimension = matrix.dimension
        guard n > 0, !range.isEmpty, queryCount > 0 else { return Array(repeating: [], count: queryCount) }
        let heaps = UnsafeMutablePointer<HeapEntry>.allocate(capacity: queryCount * n)
        defer { heaps.deallocate() }
        var heapCounts = [Int](repeating: 0, count: queryCount)
        var scores = [Float](repeating: 0, count: queryCount * min(blockRows, range.count))
        var scratch: [Float] = []
        let queryNorms = (0..<queryCount).map { query in
            queries[(query * dimension)..<((query + 1) * dimension)].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
        queries.withUnsafeBufferPointer { queryValues in
            for blockStart in stride(from: range.lowerBound / blockRows * blockRows, to: range.upperBound, by: blockRows) {
                let start = max(blockStart, range.lowerBound)
                let rows = min(blockStart + blockRows, range.upperBound) - start
                // An upper bound of the norms of this block's rows: the largest over the whole aligned block.
                let blockRowCount = min(blockRows, matrix.rows - blockStart)
                let largestRowNorm = matrix.blockNorms.largestNorm(block: blockStart / blockRows, rows: blockRowCount) {
                    var scratch: [Float] = []
                    return matrix.withFloatRows(blockStart..<(blockStart + blockRowCount), scratch: &scratch) { rows in
                        (0..<blockRowCount).reduce(0.0) { max($0, ExactTopKSearch.squaredNorm(rows + $1 * dimension, dimension)) }
                    }.squareRoot()
                }
                matrix.withFloatRows(start..<(start + rows), scratch: &scratch) { block in
                    scores.withUnsafeMutableBufferPointer { output in
                        matmulTransposedB(m: queryCount, n: rows, k: dimension, a: queryValues.baseAddress!, lda: dimension,
                                          b: block, ldb: dimension, c: output.baseAddress!, ldc: rows)
                        for column in 0..<rows where rowIds[start + column] < 0 {
                            for query in 0..<queryCount { output[query * rows + column] = -.infinity }
                        }
                        for query in 0..<queryCount {
                            let queryVector = queryValues.baseAddress! + query * dimension
                            var heap = BoundedHeap(entries: heaps + query * n, capacity: n, count: heapCounts[query])
                            let margin = ExactTopKSearch.roundingMargin(dimension: dimension, queryNorm: queryNorms[query],
                                                                        largestRowNorm: largestRowNorm)
                            heap.offer(output.baseAddress! + query * rows, count: rows, firstIndex: start,
                                       margin: margin) { column in
                                rowIds[start + column] < 0
                                    ? -.infinity : ExactTopKSearch.exactScore(queryVector, block + column * dimension, dimension)
                            }
                            heapCounts[query] = heap.count
                        }
                    }
                }
            }
        }
        return (0..<queryCount).map { query in
            UnsafeBufferPointer(start: heaps + query * n, count: heapCounts[query])
                .filter { $0.score > -.infinity && rowIds[$0.index] >= 0 }
                .sorted { $0.isBetter(than: $1) }
        }
    }
}
