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
