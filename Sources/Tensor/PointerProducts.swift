/// Row-major `C[m×n] = A[m×k] · B[n×k]ᵀ` over caller-owned memory (for example a memory-mapped feature matrix that
/// cannot be wrapped in a `TensorStorage`), through the same split-across-threads `gemm` as `matmul`.
/// `lda`, `ldb` and `ldc` are the row strides in floats.
public func matmulTransposedB(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                              c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
        return
    }
    gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
}
