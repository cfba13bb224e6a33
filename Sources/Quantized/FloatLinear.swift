import Foundation
import Layers
import Tensor

/// x·Wᵀ + b through a oneDNN matmul in fp32, or in bf16 (weights rounded once, activations rounded per call, fp32
/// accumulation and output: AVX512-BF16 / AMX only).
public final class FloatLinear: LinearKernel, @unchecked Sendable {
    /// fp32 or bf16.
    public let isBF16: Bool
    private let inFeatures: Int, outFeatures: Int
    /// The weight `[out, in]`: fp32 values, or bf16 bit patterns.
    private let floatWeights: [Float]
    private let bf16Weights: [UInt16]
    private let bias: [Float]?
    private let matmul: DNNLMatmul

    /// - Throws: `DNNLError` when oneDNN has no implementation for these types on this CPU.
    public init(_ layer: Linear, bf16: Bool) throws {
        isBF16 = bf16
        inFeatures = layer.inFeatures
        outFeatures = layer.outFeatures
        let weight = layer.weight.toArray()
        floatWeights = bf16 ? [] : weight
        bf16Weights = bf16 ? weight.map(FloatLinear.bf16Bits) : []
        bias = layer.bias?.toArray()
        let hasBias = bias != nil, k = inFeatures, n = outFeatures
        let values = bf16 ? bf16Weights.withUnsafeBytes { Data($0) } : floatWeights.withUnsafeBytes { Data($0) }
        matmul = try values.withUnsafeBytes { bytes in
            try DNNLMatmul(types: bf16 ? .bf16 : .fp32, k: k, n: n, hasBias: hasBias,
                           weights: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
        }
    }

    /// The oneDNN implementation running the product.
    public var implementation: String { matmul.implementation }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1, x.shape[x.rank - 1] == inFeatures else {
            throw TensorError.shapeMismatch(op: "FloatLinear", lhs: x.shape, rhs: [outFeatures, inFeatures])
        }
        let input = x.contiguous()
        let m = inFeatures == 0 ? 0 : input.count / inFeatures
        let output = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        guard m > 0 else { return output }
        let source = UnsafePointer(input.storage.pointer + input.offset)
        try withExtendedLifetime(input) {
            try (bias ?? []).withUnsafeBufferPointer { biasValues in
                let biasPointer = bias == nil ? nil : biasValues.baseAddress
                if isBF16 {
                    let rounded = FloatLinear.bf16(source, count: m * inFeatures)
                    try rounded.withUnsafeBytes { activations in
                        try bf16Weights.withUnsafeBytes { weights in
                            try matmul.run(m: m, source: activations.baseAddress!, weights: weights.baseAddress!,
                                           bias: biasPointer, destination: output.storage.pointer)
                        }
                    }
                } else {
                    try floatWeights.withUnsafeBytes { weights in
                        try matmul.run(m: m, source: source, weights: weights.baseAddress!, bias: biasPointer,
                                       destination: output.storage.pointer)
                    }
                }
            }
        }
        return output
    }

    /// The bf16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    static func bf16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// `count` floats rounded to bf16, in parallel.
    private static func bf16(_ source: UnsafePointer<Float>, count: Int) -> [UInt16] {
        var result = [UInt16](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { destination in
            let pointers = ConversionPointers(source: source, destination: destination.baseAddress!)
            Parallel.forRanges(count, grain: 32_768) { range in
                for index in range { pointers.destination[index] = bf16Bits(pointers.source[index]) }
            }
        }
        return result
    }
}

private struct ConversionPointers: @unchecked Sendable {
    let source: UnsafePointer<Float>
    let destination: UnsafeMutablePointer<UInt16>
}
