import Tensor
import XCTest

/// Broadcasting add/sub/mul, scale and addInPlace against PyTorch (1e-5 × magnitude) and finite differences.
final class ElementwiseTests: XCTestCase {
    func testBroadcastingAgainstPyTorch() throws {
        let f = try TensorFixture("elementwise")
        for name in ["add", "sub", "mul"] {
            let a = try f.tensor("\(name)_a"), b = try f.tensor("\(name)_b"), g = try f.tensor("\(name)_g")
            let forward: (Tensor, Tensor) throws -> Tensor
            switch name {
            case "add": forward = { try add($0, $1) }
            case "sub": forward = { try subtract($0, $1) }
            default: forward = { try multiply($0, $1) }
            }
            try f.assertClose(try forward(a, b), "\(name)_y")
            let grads = name == "add" ? try addBackward(g, lhsShape: a.shape, rhsShape: b.shape)
                : name == "sub" ? try subtractBackward(g, lhsShape: a.shape, rhsShape: b.shape)
                : try multiplyBackward(g, a, b)
            try f.assertClose(grads.lhs, "\(name)_da")
            try f.assertClose(grads.rhs, "\(name)_db")
            try assertMatchesFiniteDifferences(grads.lhs, at: a, upstream: g, "\(name) da") { try forward($0, b) }
            try assertMatchesFiniteDifferences(grads.rhs, at: b, upstream: g, "\(name) db") { try forward(a, $0) }
        }
    }

    func testScaleAndAddInPlace() throws {
        let x = try Tensor(shape: [2, 17], data: (0..<34).map { Float($0) })
        XCTAssertEqual(scale(x, by: -2).toArray(), (0..<34).map { -2 * Float($0) })
        let accumulator = Tensor(zeros: [2, 17])
        try addInPlace(accumulator, x)
        try addInPlace(accumulator, x, scale: 0.5)
        XCTAssertEqual(accumulator.toArray(), (0..<34).map { 1.5 * Float($0) })
        // A transposed (non-contiguous) operand is read in logical order.
        let square = try Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(try add(square, square.transposed(0, 1)).toArray(), [2, 5, 5, 8])
        XCTAssertEqual(try add(Tensor(scalar: 1), square).toArray(), [2, 3, 4, 5])
    }

    func testShapeErrors() {
        assertThrows(.shapeMismatch(op: "add", lhs: [2, 3], rhs: [4])) { _ = try add(Tensor(zeros: [2, 3]), Tensor(zeros: [4])) }
        assertThrows(.shapeMismatch(op: "multiply", lhs: [2, 3], rhs: [3, 3])) {
            _ = try multiply(Tensor(zeros: [2, 3]), Tensor(zeros: [3, 3]))
        }
        assertThrows(.shapeMismatch(op: "addInPlace", lhs: [2], rhs: [3])) { try addInPlace(Tensor(zeros: [2]), Tensor(zeros: [3])) }
        assertThrows(.shapeMismatch(op: "reduceToShape", lhs: [2, 3], rhs: [2])) { _ = try reduceToShape(Tensor(zeros: [2, 3]), [2]) }
    }
}
