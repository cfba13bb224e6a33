/// Storage formats a checkpoint may hold; computation is always fp32.
public enum DType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16

    /// Bytes per element.
    public var byteSize: Int { self == .float32 ? 4 : 2 }
}

/// fp16 → fp32 (exact).
public func convertFloat16ToFloat32(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { destination[i] = Float(Float16(bitPattern: source[i])) }
}

/// fp32 → fp16, round to nearest even (as PyTorch's `.half()`).
public func convertFloat32ToFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count { destination[i] = Float16(source[i]).bitPattern }
}

/// bf16 → fp32 (exact).
public func convertBFloat16ToFloat32(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { destination[i] = Float(bitPattern: UInt32(source[i]) << 16) }
}

/// fp32 → bf16, round to nearest even; NaN stays a quiet NaN (as PyTorch's `.bfloat16()`).
public func convertFloat32ToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count {
        let value = source[i]
        if value.isNaN { destination[i] = 0x7FC0; continue }
        let bits = value.bitPattern
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        destination[i] = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
}
