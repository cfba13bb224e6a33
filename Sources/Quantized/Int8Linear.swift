import CInt8Kernels
import CPUFeatures
import Layers
import Tensor

/// x·Wᵀ + b with int8 weights (per output channel) and activations quantised per row at run time:
/// y[m, n] = s_x[m]·s_w[n]·(Σ_k q_x[m, k]·q_w[n, k] − z[m]·Σ_k q_w[n, k]) + b[n], the integer sum by oneDNN (u8·s8 → s32).
public final class Int8Linear: LinearKernel, @unchecked Sendable {
    public let weights: Int8Weights
    public let bias: [Float]?
    /// The largest activation code: 255 where u8·s8 dot products are exact at full range, else 127.
    public let activationMaximum: Int
    /// Per token (default) or per tensor.
    public let activationScaling: ActivationScaling
    private let matmul: DNNLMatmul

    /// - Throws: `QuantizationError.invalidWeight` when the bias does not match, `DNNLError` when oneDNN refuses.
    public init(weights: Int8Weights, bias: [Float]?, activationScaling: ActivationScaling = .perToken,
                instructionSet: DNNLInstructionSet = .effective) throws {
        if let bias, bias.count != weights.rows {
            throw QuantizationError.invalidWeight(name: "bias", reason: "\(bias.count) values for \(weights.rows) outputs")
        }
        self.weights = weights
        self.bias = bias
        self.activationScaling = activationScaling
        activationMaximum = instructionSet.hasExactInt8DotProducts ? 255 : 127
        matmul = try weights.values.withUnsafeBytes { values in
            try DNNLMatmul(types: .int8, k: weights.columns, n: weights.rows, hasBias: false,
                           weights: values.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
        }
    }

    /// Quantises a Linear's fp32 weight and keeps its bias.
    public convenience init(_ layer: Linear, activationScaling: ActivationScaling = .perToken) throws {
        try self.init(weights: Int8Weights(quantizing: layer.weight), bias: layer.bias?.toArray(),
                      activationScaling: activationScaling)
    }

    /// The oneDNN implementation running the integer product.
    public var implementation: String { matmul.implementation }

    /// Whether `rows` rows run on the few-row kernel (`cnclip_u8s8_products`) rather than on oneDNN.
    public func usesFewRowKernel(rows: Int) -> Bool {
        rows <= Int8Linear.fewRowLimit && activationMaximum <= 127 && Int8Linear.hasFewRowKernel
    }

    /// Most rows the few-row kernel takes: a text query's tokens (1 × 10 tokens of RoBERTa-base: 38 → ~19 ms on
    /// 2 Zen 2 cores); batches go to oneDNN's blocked GEMM. The exact crossover was not measured.
    static let fewRowLimit = 48
    private static let hasFewRowKernel = cnclip_read_cpu_features().avx2

    /// Σ_k codes[m, k]·q_w[n, k] for `rows` rows of activation codes (each ≤ `activationMaximum`), `[rows, out]`.
    public func integerProduct(_ codes: [UInt8], rows: Int) throws -> [Int32] {
        guard rows >= 0, codes.count == rows * weights.columns else {
            throw TensorError.shapeMismatch(op: "Int8Linear.integerProduct", lhs: [codes.count], rhs: [rows, weights.columns])
        }
        var sums = [Int32](repeating: 0, count: rows * weights.rows)
        try codes.withUnsafeBytes { source in
            try weights.values.withUnsafeBytes { weightBytes in
                try sums.withUnsafeMutableBytes { destination in
                    if usesFewRowKernel(rows: rows) {
                        fewRowProduct(rows: rows, codes: source.baseAddress!, weights: weightBytes.baseAddress!,
                                      sums: destination.baseAddress!)
                    } else {
                        try matmul.run(m: rows, source: source.baseAddress!, weights: weightBytes.baseAddress!,
                                       bias: nil, destination: destination.baseAddress!)
                    }
                }
            }
        }
        return sums
    }

    /// The few-row product, output columns split across `Parallel`'s threads in blocks of 4: each weight byte is
    /// read once, from the plain `[out, in]` layout.
    private func fewRowProduct(rows: Int, codes: UnsafeRawPointer, weights: UnsafeRawPointer,
                               sums: UnsafeMutableRawPointer) {
        let operands = FewRowOperands(codes: codes.assumingMemoryBound(to: UInt8.self),
                                      weights: weights.assumingMemoryBound(to: Int8.self),
                                      sums: sums.assumingMemoryBound(to: Int32.self))
        let k = self.weights.columns, n = self.weights.rows
        let blocks = (n + 3) / 4
        Parallel.forRanges(blocks, grain: max(1, 16_384 / max(k * max(rows, 1), 1))) { range in
            cnclip_u8s8_products(operands.codes, rows, k, operands.weights, range.lowerBound * 4,
                                 min(range.upperBound * 4, n), operands.sums, n)
        }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let k = weights.columns, n = weights.rows
        guard x.rank >= 1, x.shape[x.rank - 1] == k else {
            throw TensorError.shapeMismatch(op: "Int8Linear", lhs: x.shape, rhs: [n, k])
        }
        let input = x.contiguous()
        let m = k == 0 ? 0 : input.count / k
        let output = Tensor(zeros: Array(x.shape.dropLast()) + [n])
        guard m > 0 else { return output }
        var codes = [UInt8](repeating: 0, count: m * k)
        var rowScales = [Float](repeating: 0, count: m)
        var zeroPoints = [Int32](repeating: 0, count: m)
        withExtendedLifetime(input) {
            RowQuantization.quantize(input.storage.pointer + input.offset, rows: m, columns: k,
                                     maximum: activationMaximum, values: &codes, scales: &rowScales,
                                     zeroPoints: &zeroPoints, perTensor: activationScaling == .perTensor)
        }
        let sums = try integerProduct(codes, rows: m)
        Int8Linear.rescale(sums: sums, rows: m, rowScales: rowScales, zeroPoints: zeroPoints, weights: weights,
                           bias: bias, into: output.storage.pointer)
        return output
    }

    /// y = s_x·s_w·(acc − z·Σq_w) + b, row by row in parallel.
    private static func rescale(sums: [Int32], rows: Int, rowScales: [Float], zeroPoints: [Int32],
                                weights: Int8Weights, bias: [Float]?, into output: UnsafeMutablePointer<Float>) {
        let n = weights.rows
        sums.withUnsafeBufferPointer { sums in
            weights.scales.withUnsafeBufferPointer { weightScales in
                weights.rowSums.withUnsafeBufferPointer { rowSums in
                    (bias ?? [Float](repeating: 0, count: n)).withUnsafeBufferPointer { offsets in
                        let shared = RescaleOperands(sums: sums.baseAddress!, weightScales: weightScales.baseAddress!,
                                                     rowSums: rowSums.baseAddress!, offsets: offsets.baseAddress!,
                                                     output: output)
                        Parallel.forRanges(rows, grain: max(1, 32_768 / max(n, 1))) { range in
                            for row in range {
                                shared.rescale(row: row, columns: n, scale: rowScales[row], zero: zeroPoints[row])
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The buffers of one `rescale`, shared by the threads that write disjoint rows of the output.
private struct RescaleOperands: @unchecked Sendable {
    let sums: UnsafePointer<Int32>
    let weightScales: UnsafePointer<Float>
    let rowSums: UnsafePointer<Int32>
    let offsets: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>

    func rescale(row: Int, columns: Int, scale: Float, zero: Int32) {
        let acc = sums + row * columns, y = output + row * columns
        for column in 0..<columns {
            let integer = acc[column] &- zero &* rowSums[column]
            y[column] = Float(integer) * (scale * weightScales[column]) + offsets[column]
        }
    }
}

/// The buffers of one few-row product, shared by the threads that write disjoint columns of `sums`.
private struct FewRowOperands: @unchecked Sendable {
    let codes: UnsafePointer<UInt8>
    let weights: UnsafePointer<Int8>
    let sums: UnsafeMutablePointer<Int32>
}
