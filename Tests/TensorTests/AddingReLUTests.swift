import Tensor
import XCTest

/// `addingReLU` against max(a + b, 0) computed element by element (exact: one rounding either way).
final class AddingReLUTests: XCTestCase {
    func testMatchesElementwiseSumThenReLU() throws {
        let count = 37
        let a = (0..<count).map { Float(($0 * 29) % 17) / 5 - 1.7 }, b = (0..<count).map { Float(($0 * 11) % 7) / 3 - 1 }
        let result = try addingReLU(Tensor(shape: [count], data: a), Tensor(shape: [count], data: b))
        XCTAssertEqual(result.toArray(), zip(a, b).map { max($0 + $1, 0) })
    }

    func testShapeMismatchThrows() {
        XCTAssertThrowsError(try addingReLU(Tensor(zeros: [2, 3]), Tensor(zeros: [3, 2])))
    }
}
