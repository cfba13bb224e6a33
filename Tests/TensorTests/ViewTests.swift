import Tensor
import XCTest

/// Views share storage and read elements in the right logical order (checked against direct index arithmetic).
final class ViewTests: XCTestCase {
    private func iota(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
    }

    func testViews() throws {
        let x = try iota([2, 3, 4])
        let permuted = try x.permuted([2, 0, 1])
        XCTAssertEqual(permuted.shape, [4, 2, 3])
        XCTAssertTrue(permuted.storage === x.storage)
        var expected: [Float] = []
        for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { expected.append(Float(i * 12 + j * 4 + k)) } } }
        XCTAssertEqual(permuted.toArray(), expected)
        XCTAssertEqual(permuted.contiguous().toArray(), expected)
        XCTAssertEqual(try permuted.permuted(Tensor.inversePermutation([2, 0, 1])).toArray(), x.toArray())

        let t = try x.transposed(-1, 0)
        XCTAssertEqual(t.shape, [4, 3, 2])
        XCTAssertEqual(t.toArray()[1], 12)

        let slice = try x.sliced(axis: 1, range: 1..<3)
        XCTAssertEqual(slice.shape, [2, 2, 4])
        XCTAssertEqual(slice.toArray(), [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
        let reshaped = try x.reshaped([6, -1])
        XCTAssertEqual(reshaped.shape, [6, 4])
        XCTAssertTrue(reshaped.storage === x.storage)
        XCTAssertEqual(try slice.reshaped([-1]).toArray(), slice.toArray())

        let back = try slicedBackward(Tensor(zeros: [2, 2, 4]).reshaped([2, 2, 4]), inputShape: [2, 3, 4], axis: 1, range: 1..<3)
        XCTAssertEqual(back.shape, [2, 3, 4])
        let ones = try slicedBackward(add(Tensor(zeros: [2, 2, 4]), Tensor(scalar: 1)), inputShape: [2, 3, 4], axis: 1, range: 1..<3)
        XCTAssertEqual(try sum(ones.reshaped([-1]), axis: 0).toArray(), [16])
        XCTAssertEqual(ones.toArray()[0..<8], [0, 0, 0, 0, 1, 1, 1, 1])
    }

    func testViewErrors() throws {
        let x = try iota([2, 3])
        assertThrows(.invalidShape(op: "reshaped", shape: [2, 3], reason: "cannot view 6 elements as [4, -1]")) {
            _ = try x.reshaped([4, -1])
        }
        assertThrows(.invalidAxis(op: "transposed", axis: 2, rank: 2)) { _ = try x.transposed(0, 2) }
        assertThrows(.invalidShape(op: "permuted", shape: [2, 3], reason: "[0, 0] is not a permutation of the axes")) {
            _ = try x.permuted([0, 0])
        }
        assertThrows(.invalidShape(op: "sliced", shape: [2, 3], reason: "range 2..<4 is outside axis 1 of size 3")) {
            _ = try x.sliced(axis: 1, range: 2..<4)
        }
    }

    func testThreadCountFromEnvironment() {
        XCTAssertEqual(Parallel.threadCount(environment: ["CNCLIP_NUM_THREADS": "3"], cores: 2), 3)
        XCTAssertEqual(Parallel.threadCount(environment: ["CNCLIP_NUM_THREADS": "zero"], cores: 2), 2)
        XCTAssertEqual(Parallel.threadCount(environment: [:], cores: 8), 8)
        // Every index is visited exactly once across the chunks.
        var hits = [Int](repeating: 0, count: 10_000)
        hits.withUnsafeMutableBufferPointer { buffer in
            Parallel.forRanges(10_000, grain: 100) { range in for i in range { buffer[i] += 1 } }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 10_000))
    }
}
