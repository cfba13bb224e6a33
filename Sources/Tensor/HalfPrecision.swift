/// Storage formats a checkpoint may hold; computation is always fp32.
public enum DType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16

    /// Bytes per element.
    public var byteSize: Int { self == .float32 ? 4 : 2 }
}

private typealias Bits = SIMD16<UInt32>
private let halfGrain = 65_536

/// Runs `body(start, lanes)` over `count` elements, 16 at a time in parallel chunks; `lanes` < 16 only at the tail.
@inline(__always)
private func forEachBlock(_ count: Int, _ body: (Int, Int) -> Void) {
    forEachVectorRange(count, grain: halfGrain) { start, end in
        var index = start
        while index < end {
            body(index, min(vectorWidth, end - index))
            index += vectorWidth
        }
    }
}

@inline(__always)
private func loadHalves(_ source: UnsafePointer<UInt16>, _ lanes: Int) -> Bits {
    var bits = Bits()
    if lanes == vectorWidth {
        bits = Bits(truncatingIfNeeded: UnsafeRawPointer(source).loadUnaligned(as: SIMD16<UInt16>.self))
    } else {
        for lane in 0..<lanes { bits[lane] = UInt32(source[lane]) }
    }
    return bits
}

@inline(__always)
private func storeHalves(_ bits: Bits, _ destination: UnsafeMutablePointer<UInt16>, _ lanes: Int) {
    let halves = SIMD16<UInt16>(truncatingIfNeeded: bits)
    if lanes == vectorWidth {
        UnsafeMutableRawPointer(destination).storeBytes(of: halves, as: SIMD16<UInt16>.self)
    } else {
        for lane in 0..<lanes { destination[lane] = halves[lane] }
    }
}

@inline(__always)
private func storeFloats(_ bits: Bits, _ destination: UnsafeMutablePointer<Float>, _ lanes: Int) {
    let values = unsafeBitCast(bits, to: FloatVector.self)
    if lanes == vectorWidth { storeVector(values, destination) } else { storePartialVector(values, destination, lanes) }
}

@inline(__always)
private func loadFloatBits(_ source: UnsafePointer<Float>, _ lanes: Int) -> Bits {
    unsafeBitCast(lanes == vectorWidth ? loadVector(source) : loadPartialVector(source, lanes), to: Bits.self)
}

/// fp16 → fp32 (exact): the 15 magnitude bits shifted into place and rescaled by 2^112 (which also
/// normalises subnormals); Inf/NaN get the full exponent.
public func convertFloat16ToFloat32(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    let magic = FloatVector(repeating: Float(bitPattern: 0x7780_0000))  // 2^112
    let infinityThreshold: Float = 65_536
    forEachBlock(count) { start, lanes in
        let half = loadHalves(source + start, lanes)
        let magnitude = unsafeBitCast((half & 0x7FFF) &<< 13, to: FloatVector.self) * magic
        var bits = unsafeBitCast(magnitude, to: Bits.self)
        bits = bits.replacing(with: bits | 0x7F80_0000, where: magnitude .>= infinityThreshold)
        storeFloats(bits | ((half & 0x8000) &<< 16), destination + start, lanes)
    }
}

/// fp32 → fp16, round to nearest even (as PyTorch's `.half()`); overflow → ±Inf, NaN → quiet NaN.
public func convertFloat32ToFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    let subnormalMagic = FloatVector(repeating: 0.5)  // exponent 126: aligns fp16 subnormal bits at the bottom
    forEachBlock(count) { start, lanes in
        let bits = loadFloatBits(source + start, lanes)
        let sign = (bits &>> 16) & 0x8000
        let magnitude = bits & 0x7FFF_FFFF
        // Normal range: rebias the exponent, round to nearest even on bit 13.
        let odd = (magnitude &>> 13) & 1
        let normal = (magnitude &+ 0xC800_0FFF &+ odd) &>> 13
        // Subnormal range: let the FPU round by adding 0.5 and keep the low bits.
        let aligned = unsafeBitCast(unsafeBitCast(magnitude, to: FloatVector.self) + subnormalMagic, to: Bits.self)
        let subnormal = aligned &- 0x3F00_0000
        var half = normal.replacing(with: subnormal, where: magnitude .< 0x3880_0000)
        half = half.replacing(with: 0x7C00, where: magnitude .>= 0x4780_0000)
        half = half.replacing(with: 0x7E00, where: magnitude .> 0x7F80_0000)
        storeHalves(half | sign, destination + start, lanes)
    }
}

/// bf16 → fp32 (exact).
public func convertBFloat16ToFloat32(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    forEachBlock(count) { start, lanes in
        storeFloats(loadHalves(source + start, lanes) &<< 16, destination + start, lanes)
    }
}

/// fp32 → bf16, round to nearest even; NaN stays a quiet NaN (as PyTorch's `.bfloat16()`).
public func convertFloat32ToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    forEachBlock(count) { start, lanes in
        let bits = loadFloatBits(source + start, lanes)
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        let isNaN = (bits & 0x7FFF_FFFF) .> 0x7F80_0000
        storeHalves(rounded.replacing(with: 0x7FC0, where: isNaN), destination + start, lanes)
    }
}

extension Tensor {
    /// A contiguous fp32 tensor from fp16 bit patterns (how checkpoints store half tensors).
    /// - Throws: `TensorError.invalidShape` when `bits.count` differs from the product of `shape`.
    public init(shape: [Int], float16Bits bits: [UInt16]) throws {
        try self.init(shape: shape, halfBits: bits, op: "Tensor(shape:float16Bits:)", convert: convertFloat16ToFloat32)
    }

    /// A contiguous fp32 tensor from bf16 bit patterns.
    /// - Throws: `TensorError.invalidShape` when `bits.count` differs from the product of `shape`.
    public init(shape: [Int], bfloat16Bits bits: [UInt16]) throws {
        try self.init(shape: shape, halfBits: bits, op: "Tensor(shape:bfloat16Bits:)", convert: convertBFloat16ToFloat32)
    }

    private init(shape: [Int], halfBits bits: [UInt16], op: String,
                 convert: (UnsafePointer<UInt16>, UnsafeMutablePointer<Float>, Int) -> Void) throws {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), count == bits.count else {
            throw TensorError.invalidShape(op: op, shape: shape, reason: "needs \(count) values, got \(bits.count)")
        }
        self.init(zeros: shape)
        let destination = storage.pointer
        bits.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { convert(base, destination, count) }
        }
    }

    /// The elements rounded to fp16 bit patterns (round to nearest even), in row-major order.
    public func float16Bits() -> [UInt16] { halfBits(convertFloat32ToFloat16) }

    /// The elements rounded to bf16 bit patterns (round to nearest even), in row-major order.
    public func bfloat16Bits() -> [UInt16] { halfBits(convertFloat32ToBFloat16) }

    private func halfBits(_ convert: (UnsafePointer<Float>, UnsafeMutablePointer<UInt16>, Int) -> Void) -> [UInt16] {
        let values = contiguous()
        var bits = [UInt16](repeating: 0, count: count)
        withExtendedLifetime(values) {
            bits.withUnsafeMutableBufferPointer { out in
                if let base = out.baseAddress { convert(values.storage.pointer + values.offset, base, values.count) }
            }
        }
        return bits
    }
}
