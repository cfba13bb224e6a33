import Tensor
import XCTest

/// The fused inference attention against the same computation composed from the unfused kernels
/// (split heads, Q·Kᵀ/√d + mask, softmax, ·V, merge heads); tolerance 1e-5 × max(1, |value|).
final class FusedAttentionTests: XCTestCase {
    private func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float((($0 + seed) * 7919 + seed * 31) % 257) / 128 - 1 }
    }

    /// softmax(Q·Kᵀ/√d + mask)·V per head, from `matmul` and `softmax`.
    private func composed(query: Tensor, key: Tensor, value: Tensor, heads: Int, mask: Tensor?) throws -> Tensor {
        let batch = query.shape[0], queryLength = query.shape[1], length = key.shape[1], width = query.shape[2]
        let headWidth = width / heads
        func split(_ x: Tensor, _ rows: Int) throws -> Tensor {
            try x.reshaped([batch, rows, heads, headWidth]).permuted([0, 2, 1, 3]).contiguous()
                .reshaped([batch * heads, rows, headWidth])
        }
        let scores = scale(try matmul(split(query, queryLength), split(key, length), transposeB: true),
                           by: 1 / Float(headWidth).squareRoot())
        let probabilities = try softmax(lastAxisOf: scores.reshaped([batch, heads, queryLength, length]),
                                        additiveMask: mask).reshaped([batch * heads, queryLength, length])
        return try matmul(probabilities, split(value, length)).reshaped([batch, heads, queryLength, headWidth])
            .permuted([0, 2, 1, 3]).contiguous().reshaped([batch, queryLength, width])
    }

    func testPackedProjectionSlicesWithoutMask() throws {
        let batch = 3, length = 37, width = 48, heads = 4
        let packed = try Tensor(shape: [batch, length, 3 * width], data: values(batch * length * 3 * width, seed: 1))
        let query = try packed.sliced(axis: 2, range: 0..<width)
        let key = try packed.sliced(axis: 2, range: width..<(2 * width))
        let value = try packed.sliced(axis: 2, range: (2 * width)..<(3 * width))
        let fused = try multiHeadAttention(query: query, key: key, value: value, heads: heads)
        let expected = try composed(query: query.contiguous(), key: key.contiguous(), value: value.contiguous(),
                                    heads: heads, mask: nil)
        XCTAssertEqual(fused.shape, [batch, length, width])
        assertValuesClose(fused.toArray(), expected.toArray(), tolerance: 1e-5, "packed")
    }

    func testSeparateInputsWithKeyMaskAndOneQuery() throws {
        let batch = 2, length = 21, width = 24, heads = 3
        let key = try Tensor(shape: [batch, length, width], data: values(batch * length * width, seed: 2))
        let value = try Tensor(shape: [batch, length, width], data: values(batch * length * width, seed: 3))
        let maskValues = (0..<(batch * length)).map { $0 % length >= 15 + $0 / length ? Float(-10_000) : 0 }
        let mask = try Tensor(shape: [batch, 1, 1, length], data: maskValues)
        for queryLength in [length, 1] {
            let query = try Tensor(shape: [batch, queryLength, width], data: values(batch * queryLength * width, seed: 4))
            let fused = try multiHeadAttention(query: query, key: key, value: value, heads: heads, keyMask: mask)
            let expected = try composed(query: query, key: key, value: value, heads: heads, mask: mask)
            assertValuesClose(fused.toArray(), expected.toArray(), tolerance: 1e-5, "separate, \(queryLength) queries")
        }
    }

    func testShapeErrorsNameTheOperand() throws {
        let x = try Tensor(shape: [1, 4, 6], data: values(24, seed: 5))
        XCTAssertThrowsError(try multiHeadAttention(query: x, key: x, value: x, heads: 4)) { error in
            XCTAssertTrue("\(error)".contains("heads"), "\(error)")
        }
        let mask = Tensor(zeros: [1, 1, 1, 5])
        XCTAssertThrowsError(try multiHeadAttention(query: x, key: x, value: x, heads: 2, keyMask: mask)) { error in
            XCTAssertTrue("\(error)".contains("mask"), "\(error)")
        }
    }
}
