import CBLAS

// The one file that talks to BLAS: matrix products, `linear` (bias fused into the GEMM), and their backward passes.

/// OpenBLAS runs single-threaded: large products are split across `Parallel`'s threads here instead (see
/// `gemm`). OpenBLAS's own pthread pool spins in `sched_yield` between calls, taking a core from the kernels that
/// run between GEMMs on a 2-core machine, and hands every small per-head product to its pool as well.
private let blasThreadsConfigured: Void = {
    openblas_set_num_threads(1)
}()

/// Products below this many multiply-adds run on the calling thread.
private let parallelGemmMinimumWork = 1 << 21

/// Fewest rows (or columns) of the output one thread's part of a split product gets.
private let parallelGemmMinimumExtent = 64

/// Row-major C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C. Large products are cut into `Parallel.threadCount`
/// parts along m or n (whichever makes the operand every part re-packs the smaller one), each a single-threaded
/// `cblas_sgemm`; small ones run on the calling thread.
func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
          beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let splitRows = n <= m
    let extent = splitRows ? m : n
    let parts = min(Parallel.threadCount, extent / parallelGemmMinimumExtent)
    guard parts > 1, m * n * k >= parallelGemmMinimumWork else {
        gemmOnCallingThread(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let operands = GemmPointers(a: a, b: b, c: c)
    Parallel.forRanges(extent, grain: extent / parts) { range in
        if splitRows {
            let rowsOfA = operands.a + (transposeA ? range.lowerBound : range.lowerBound * lda)
            gemmOnCallingThread(transposeA: transposeA, transposeB: transposeB, m: range.count, n: n, k: k,
                                alpha: alpha, a: rowsOfA, lda: lda, b: operands.b, ldb: ldb, beta: beta,
                                c: operands.c + range.lowerBound * ldc, ldc: ldc)
        } else {
            let columnsOfB = operands.b + (transposeB ? range.lowerBound * ldb : range.lowerBound)
            gemmOnCallingThread(transposeA: transposeA, transposeB: transposeB, m: m, n: range.count, k: k,
                                alpha: alpha, a: operands.a, lda: lda, b: columnsOfB, ldb: ldb, beta: beta,
                                c: operands.c + range.lowerBound, ldc: ldc)
        }
    }
}

/// `gemm`'s signature, for code that picks between `gemm` and `gemmOnCallingThread`.
private typealias GemmFunction = (Bool, Bool, Int, Int, Int, Float, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                  Float, UnsafeMutablePointer<Float>, Int) -> Void

/// The operands of one split product, handed to the threads that write disjoint parts of C.
private struct GemmPointers: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>
}

/// `gemm` on the calling thread only: `cblas_sgemm`, or `cblas_sgemv` when m == 1. For loops that already run
/// many small products in parallel (attention heads).
func gemmOnCallingThread(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = blasThreadsConfigured
    guard m > 0, n > 0 else { return }
    if m == 1 {
        // One output row: y = op(B)ᵀ·x, where x is the single row of op(A) (stride lda when A is stored transposed).
        let xStride = transposeA ? lda : 1
        if transposeB {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, Int32(xStride),
                        beta, c, 1)
        } else {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, Int32(xStride),
                        beta, c, 1)
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// A matrix operand as BLAS sees it: base pointer, leading dimension, whether it is stored transposed,
/// and the distance between consecutive matrices of a batch (0: one matrix shared by every batch).
private struct MatrixOperand {
    let tensor: Tensor
    let rows: Int
    let columns: Int
    let leadingDimension: Int
    let storedTransposed: Bool
    let batchStride: Int
    let batch: Int

    /// Describes a rank-2 or rank-3 tensor; views whose last two axes are row- or column-major are used in place.
    init(_ source: Tensor) {
        var t = source
        let r = t.rank
        var rows = t.shape[r - 2], columns = t.shape[r - 1]
        var rowStride = t.strides[r - 2], columnStride = t.strides[r - 1]
        let inPlaceRowMajor = columnStride == 1 && rowStride >= max(columns, 1)
        let inPlaceColumnMajor = rowStride == 1 && columnStride >= max(rows, 1) && !inPlaceRowMajor
        if !inPlaceRowMajor && !inPlaceColumnMajor {
            t = source.contiguous()
            rows = t.shape[r - 2]; columns = t.shape[r - 1]
            rowStride = t.strides[r - 2]; columnStride = t.strides[r - 1]
        }
        tensor = t
        self.rows = rows
        self.columns = columns
        storedTransposed = inPlaceColumnMajor
        leadingDimension = max(inPlaceColumnMajor ? columnStride : rowStride, 1)
        batch = r == 3 ? t.shape[0] : 1
        batchStride = r == 3 && t.shape[0] > 1 ? t.strides[0] : 0
    }

    var base: UnsafePointer<Float> { UnsafePointer(tensor.storage.pointer + tensor.offset) }
}

/// op(A)·op(B) for 2-D operands, or batched over a leading axis (rank 3; a rank-2 operand is shared by
/// every batch). `transposeA`/`transposeB` transpose the last two axes; transposed views are used in place.
/// - Throws: `TensorError.shapeMismatch` when the inner dimensions or batch sizes differ,
///   `TensorError.invalidShape` for operands that are not rank 2 or 3.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    let shape = try matmulShape(a, b, transposeA: transposeA, transposeB: transposeB)
    // BLAS overwrites the whole output (beta = 0) unless the inner dimension is empty.
    let inner = a.shape[a.rank - (transposeA ? 2 : 1)]
    let result = inner > 0 ? Tensor(uninitialized: shape) : Tensor(zeros: shape)
    try matmul(a, b, transposeA: transposeA, transposeB: transposeB, into: result)
    return result
}

/// `matmul` writing into an existing contiguous `output` (no allocation: for workspaces reused across calls).
/// - Throws: as `matmul`, and `TensorError.shapeMismatch` when `output` has the wrong shape or is not contiguous.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, into output: Tensor) throws {
    let expected = try matmulShape(a, b, transposeA: transposeA, transposeB: transposeB)
    guard output.shape == expected, output.isContiguous else {
        throw TensorError.shapeMismatch(op: "matmul output", lhs: output.shape, rhs: expected)
    }
    let left = MatrixOperand(a), right = MatrixOperand(b)
    let m = transposeA ? left.columns : left.rows
    let k = transposeA ? left.rows : left.columns
    let n = transposeB ? right.rows : right.columns
    let batch = max(left.batch, right.batch)
    let destination = output.storage.pointer + output.offset
    withExtendedLifetime((left.tensor, right.tensor)) {
        // A row-major batch times one shared matrix is one tall GEMM.
        if expected.count == 3, right.batchStride == 0, !transposeA, !left.storedTransposed, left.leadingDimension == k,
           left.batchStride == m * k || batch == 1 {
            gemm(transposeA: false, transposeB: transposeB != right.storedTransposed, m: batch * m, n: n, k: k,
                 a: left.base, lda: left.leadingDimension, b: right.base, ldb: right.leadingDimension,
                 beta: 0, c: destination, ldc: n)
            return
        }
        let operands = GemmPointers(a: left.base, b: right.base, c: destination)
        let transposingA = transposeA != left.storedTransposed, transposingB = transposeB != right.storedTransposed
        func product(_ index: Int, _ multiply: GemmFunction) {
            multiply(transposingA, transposingB, m, n, k, 1, operands.a + index * left.batchStride,
                     left.leadingDimension, operands.b + index * right.batchStride, right.leadingDimension,
                     0, operands.c + index * m * n, n)
        }
        // At least one product per thread (attention heads): whole products in parallel; fewer: each one split.
        if batch >= Parallel.threadCount {
            Parallel.forRanges(batch, grain: 1) { range in
                for index in range { product(index, gemmOnCallingThread) }
            }
        } else {
            for index in 0..<batch { product(index, gemm) }
        }
    }
}

/// Gradients of `matmul(a, b, transposeA:, transposeB:)` with respect to `a` and `b`, given the gradient of its
/// output. A rank-2 operand that was shared across a batch gets the sum over the batch.
public func matmulBackward(_ gradOutput: Tensor, _ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                           transposeB: Bool = false) throws -> (gradA: Tensor, gradB: Tensor) {
    let expected = try matmulShape(a, b, transposeA: transposeA, transposeB: transposeB)
    guard gradOutput.shape == expected else {
        throw TensorError.shapeMismatch(op: "matmulBackward", lhs: gradOutput.shape, rhs: expected)
    }
    var gradA = transposeA
        ? try matmul(b, gradOutput, transposeA: transposeB, transposeB: true)
        : try matmul(gradOutput, b, transposeA: false, transposeB: !transposeB)
    var gradB = transposeB
        ? try matmul(gradOutput, a, transposeA: true, transposeB: transposeA)
        : try matmul(a, gradOutput, transposeA: !transposeA, transposeB: false)
    if gradA.rank > a.rank { gradA = try sum(gradA, axis: 0) }
    if gradB.rank > b.rank { gradB = try sum(gradB, axis: 0) }
    return (gradA, gradB)
}

/// The output shape of `matmul(a, b, transposeA:, transposeB:)`, checking that the operands fit.
private func matmulShape(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) throws -> [Int] {
    for operand in [a, b] where operand.rank != 2 && operand.rank != 3 {
        throw TensorError.invalidShape(op: "matmul", shape: operand.shape, reason: "operands must be rank 2 or 3")
    }
    let m = a.shape[a.rank - (transposeA ? 1 : 2)], k = a.shape[a.rank - (transposeA ? 2 : 1)]
    let kRight = b.shape[b.rank - (transposeB ? 1 : 2)], n = b.shape[b.rank - (transposeB ? 2 : 1)]
    guard k == kRight, !(a.rank == 3 && b.rank == 3 && a.shape[0] != b.shape[0]) else {
        throw TensorError.shapeMismatch(op: "matmul", lhs: a.shape, rhs: b.shape)
    }
    let batch = a.rank == 3 ? [a.shape[0]] : b.rank == 3 ? [b.shape[0]] : []
    return batch + [m, n]
}

/// y = x·Wᵀ + bias for x [..., in], weight [out, in] (PyTorch's layout) and bias [out]; the bias is written
/// into the output first and the GEMM accumulates onto it (beta = 1), so no separate pass adds it.
/// - Throws: `TensorError.shapeMismatch` naming x and weight (or weight and bias) when they do not fit.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
    guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
        throw TensorError.shapeMismatch(op: "linear", lhs: x.shape, rhs: weight.shape)
    }
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    if let bias, bias.shape != [outFeatures] {
        throw TensorError.shapeMismatch(op: "linear bias", lhs: weight.shape, rhs: bias.shape)
    }
    let input = x.contiguous()
    let rows = inFeatures == 0 ? x.count : x.count / inFeatures
    // The bias rows, or the GEMM with beta = 0, write every output element: zero-filling first would be wasted.
    let outputShape = Array(x.shape.dropLast()) + [outFeatures]
    let result = bias != nil || inFeatures > 0 ? Tensor(uninitialized: outputShape) : Tensor(zeros: outputShape)
    let w = MatrixOperand(weight)
    let output = result.storage.pointer
    if let bias {
        let biasValues = bias.contiguous()
        withExtendedLifetime(biasValues) {
            let source = biasValues.storage.pointer + biasValues.offset
            Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: outFeatures)) { range in
                for row in range { (output + row * outFeatures).update(from: source, count: outFeatures) }
            }
        }
    }
    withExtendedLifetime((input, w.tensor)) {
        gemm(transposeA: false, transposeB: !w.storedTransposed, m: rows, n: outFeatures, k: inFeatures,
             a: input.storage.pointer + input.offset, lda: inFeatures, b: w.base, ldb: w.leadingDimension,
             beta: bias == nil ? 0 : 1, c: output, ldc: outFeatures)
    }
    return result
}

/// Gradients of `linear`: input [..., in], weight [out, in], and bias [out] (nil when `hasBias` is false).
public struct LinearGradients {
    /// dL/dx, shaped like the input.
    public let input: Tensor
    /// dL/dW, shaped like the weight.
    public let weight: Tensor
    /// dL/db, or nil for a layer without bias.
    public let bias: Tensor?
}

/// Backward of `linear`: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
public func linearBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool) throws -> LinearGradients {
    guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
        throw TensorError.shapeMismatch(op: "linearBackward", lhs: x.shape, rhs: weight.shape)
    }
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    let expected = Array(x.shape.dropLast()) + [outFeatures]
    guard gradOutput.shape == expected else {
        throw TensorError.shapeMismatch(op: "linearBackward", lhs: gradOutput.shape, rhs: expected)
    }
    let dy = try gradOutput.reshaped([-1, outFeatures])
    let input = try x.reshaped([-1, inFeatures])
    let gradInput = try matmul(dy, weight).reshaped(x.shape)
    let gradWeight = try matmul(dy, input, transposeA: true)
    let gradBias = hasBias ? try sum(dy, axis: 0) : nil
    return LinearGradients(input: gradInput, weight: gradWeight, bias: gradBias)
}

/// The kernel set OpenBLAS runs on this CPU ("Haswell", "Zen", "SkylakeX", …; "Prescott" is its SSE3 fallback).
public var blasCoreName: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}
