import Tensor
import XCTest

final class HalfPrecisionTests: XCTestCase {
    /// Bit patterns as PyTorch 1.13 `.half()` / `.bfloat16()` give them for the same values.
    func testKnownBitPatterns() {
        let values: [Float] = [1.0, -2.0, 0.1, 65504, 1e-8, .infinity]
        var half = [UInt16](repeating: 0, count: values.count)
        var brain = [UInt16](repeating: 0, count: values.count)
        convertFloat32ToFloat16(values, &half, count: values.count)
        convertFloat32ToBFloat16(values, &brain, count: values.count)
        XCTAssertEqual(half, [0x3C00, 0xC000, 0x2E66, 0x7BFF, 0x0000, 0x7C00])
        XCTAssertEqual(brain, [0x3F80, 0xC000, 0x3DCD, 0x4780, 0x322C, 0x7F80])
        var back = [Float](repeating: 0, count: values.count)
        convertFloat16ToFloat32(half, &back, count: values.count)
        XCTAssertEqual(back[2], 0.0999755859375)
        convertBFloat16ToFloat32(brain, &back, count: values.count)
        XCTAssertEqual(back[2], 0.10009765625)
    }

    func testContiguousStridesAndCopy() throws {
        let t = try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.strides, [3, 1])
        let transposed = Tensor(storage: t.storage, shape: [3, 2], strides: [1, 3], offset: 0)
        XCTAssertFalse(transposed.isContiguous)
        XCTAssertEqual(transposed.toArray(), [1, 4, 2, 5, 3, 6])
        XCTAssertThrowsError(try Tensor(shape: [2, 2], data: [1, 2, 3]))
    }
}

/// The vectorised conversions against Swift's scalar `Float16` (exhaustive for fp16 → fp32) and a scalar bf16 rule.
final class HalfPrecisionVectorTests: XCTestCase {
    func testEveryFloat16PatternConvertsExactly() {
        let patterns = (0...UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: patterns.count)
        convertFloat16ToFloat32(patterns, &floats, count: patterns.count)
        for (bits, value) in zip(patterns, floats) {
            let expected = Float(Float16(bitPattern: bits))
            if expected.isNaN { XCTAssertTrue(value.isNaN); continue }
            XCTAssertEqual(value.bitPattern, expected.bitPattern, "fp16 \(bits)")
        }
        // And back: every finite fp16 value round-trips.
        var again = [UInt16](repeating: 0, count: floats.count)
        convertFloat32ToFloat16(floats, &again, count: floats.count)
        for (bits, roundTrip) in zip(patterns, again) where !Float(Float16(bitPattern: bits)).isNaN {
            XCTAssertEqual(roundTrip, bits)
        }
    }

    func testFloat32ToHalfRoundsToNearestEven() throws {
        var generator = SystemRandomNumberGenerator()
        var values = (0..<20_000).map { _ in Float(bitPattern: UInt32.random(in: 0x3000_0000...0x4790_0000, using: &generator)) }
        values += values.map { -$0 } + [65504, 65519.99, 65520, 1e-8, 5.9604645e-08, 2.9802322e-08, .nan]
        let tensor = try Tensor(shape: [values.count], data: values)
        let half = tensor.float16Bits(), brain = tensor.bfloat16Bits()
        for (value, bits) in zip(values, half) where !value.isNaN {
            XCTAssertEqual(bits, Float16(value).bitPattern, "fp16 of \(value)")
        }
        for (value, bits) in zip(values, brain) where !value.isNaN {
            let raw = value.bitPattern
            XCTAssertEqual(bits, UInt16((raw + 0x7FFF + ((raw >> 16) & 1)) >> 16), "bf16 of \(value)")
        }
        XCTAssertEqual(half.last, 0x7E00)
        XCTAssertEqual(brain.last, 0x7FC0)
        let back = try Tensor(shape: [values.count], float16Bits: half)
        XCTAssertEqual(back.toArray()[0], Float(Float16(values[0])))
        XCTAssertEqual(try Tensor(shape: [1], bfloat16Bits: [0x3F80]).toArray(), [1])
        XCTAssertThrowsError(try Tensor(shape: [2], float16Bits: [1]))
    }
}
