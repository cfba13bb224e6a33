// Multi-head scaled dot-product attention for inference, fused: one work item per (batch, head) computes
// scores = Q·Kᵀ/√d (+ mask), the row softmax and the context = P·V in a per-thread scratch, reading the heads
// straight out of the projections' outputs and writing the merged heads in place. No head split/merge copies,
// no probability tensor, and the small per-head GEMMs run single-threaded inside the parallel loop instead
// of handing each one to the BLAS thread pool.

/// Attention of `query` `[B, Lq, W]` over `key`/`value` `[B, L, W]`, split into `heads` heads of W/heads columns,
/// with an optional additive key mask `[B, 1, 1, L]` (or `[B, L]`); returns the heads merged, `[B, Lq, W]`.
/// The three inputs may be column slices of one packed projection (row stride 3W): only their last axis must be
/// contiguous. Equal (to rounding) to softmax(Q·Kᵀ/√d + mask)·V head by head.
/// - Throws: `TensorError.invalidShape` / `.shapeMismatch` naming the operand that does not fit.
public func multiHeadAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                               keyMask: Tensor? = nil) throws -> Tensor {
    let geometry = try AttentionGeometry(query: query, key: key, value: value, heads: heads, keyMask: keyMask)
    let output = Tensor(uninitialized: [geometry.batch, geometry.queryLength, geometry.width])
    let mask = keyMask?.contiguous()
    withExtendedLifetime((query, key, value, mask)) {
        let maskBase = mask.map { UnsafePointer($0.storage.pointer + $0.offset) }
        geometry.run(query: operandBase(query), key: operandBase(key), value: operandBase(value),
                     mask: maskBase, output: output.storage.pointer)
    }
    return output
}

private func operandBase(_ tensor: Tensor) -> UnsafePointer<Float> {
    UnsafePointer(tensor.storage.pointer + tensor.offset)
}

/// Shapes and strides of one attention call, checked once.
private struct AttentionGeometry {
    let batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int, headWidth: Int
    let queryRowStride: Int, queryBatchStride: Int
    let keyRowStride: Int, keyBatchStride: Int
    let valueRowStride: Int, valueBatchStride: Int

    init(query: Tensor, key: Tensor, value: Tensor, heads: Int, keyMask: Tensor?) throws {
        for (name, operand) in [("query", query), ("key", key), ("value", value)] {
            guard operand.rank == 3, operand.strides[2] == 1 || operand.shape[2] <= 1 else {
                throw TensorError.invalidShape(op: "multiHeadAttention \(name)", shape: operand.shape,
                                               reason: "expected [batch, length, width] with contiguous rows")
            }
        }
        batch = query.shape[0]; queryLength = query.shape[1]; width = query.shape[2]
        keyLength = key.shape[1]
        guard key.shape == [batch, keyLength, width], value.shape == key.shape else {
            throw TensorError.shapeMismatch(op: "multiHeadAttention key/value", lhs: key.shape, rhs: value.shape)
        }
        guard heads > 0, width % heads == 0 else {
            throw TensorError.invalidShape(op: "multiHeadAttention", shape: query.shape,
                                           reason: "width \(width) is not a multiple of \(heads) heads")
        }
        if let keyMask, keyMask.count != batch * keyLength || keyMask.shape.last != keyLength {
            throw TensorError.shapeMismatch(op: "multiHeadAttention mask", lhs: keyMask.shape,
                                            rhs: [batch, 1, 1, keyLength])
        }
        self.heads = heads
        headWidth = width / heads
        queryRowStride = query.strides[1]; queryBatchStride = query.strides[0]
        keyRowStride = key.strides[1]; keyBatchStride = key.strides[0]
        valueRowStride = value.strides[1]; valueBatchStride = value.strides[0]
    }

    /// Runs every (batch, head) item; each chunk of items owns one `queryLength × keyLength` score buffer.
    func run(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
             mask: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let items = batch * heads
        guard items > 0, queryLength > 0 else { return }
        let scale = 1 / Float(headWidth).squareRoot()
        let scoresPerItem = queryLength * keyLength
        Parallel.forRanges(items, grain: 1) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(scoresPerItem, 1))
            defer { scores.deallocate() }
            for item in range {
                let b = item / heads, h = item % heads
                let maskRow = mask.map { $0 + b * keyLength }
                if let maskRow {
                    for row in 0..<queryLength { (scores + row * keyLength).update(from: maskRow, count: keyLength) }
                }
                gemmOnCallingThread(transposeA: false, transposeB: true, m: queryLength, n: keyLength, k: headWidth,
                                    alpha: scale, a: query + b * queryBatchStride + h * headWidth, lda: queryRowStride,
                                    b: key + b * keyBatchStride + h * headWidth, ldb: keyRowStride,
                                    beta: maskRow == nil ? 0 : 1, c: scores, ldc: keyLength)
                for row in 0..<queryLength { softmaxInPlace(scores + row * keyLength, keyLength) }
                gemmOnCallingThread(transposeA: false, transposeB: false, m: queryLength, n: headWidth, k: keyLength,
                                    a: scores, lda: keyLength,
                                    b: value + b * valueBatchStride + h * headWidth, ldb: valueRowStride,
                                    beta: 0, c: output + b * queryLength * width + h * headWidth, ldc: width)
            }
        }
    }
}

/// softmax of one row, in place.
@inline(__always)
private func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, _ length: Int) {
    let largest = maskedCopyMax(row, nil, row, length)
    let total = exponentiateShifted(row, length, shift: largest)
    scaleRow(row, length, by: 1 / total)
}
