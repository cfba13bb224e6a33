import Tensor
import XCTest

/// matmul / linear against PyTorch (fp32 tolerance 1e-5 × magnitude) and finite differences (1e-2 relative).
final class MatmulTests: XCTestCase {
    func testMatmulCasesAgainstPyTorch() throws {
        let f = try TensorFixture("matmul")
        let cases: [(String, Bool)] = [("plain", false), ("trans", true), ("batch", false), ("row", false)]
        for (name, transposed) in cases {
            let a = try f.tensor("\(name)_a"), b = try f.tensor("\(name)_b"), g = try f.tensor("\(name)_g")
            let y = try matmul(a, b, transposeA: transposed, transposeB: transposed)
            try f.assertClose(y, "\(name)_y")
            let (da, db) = try matmulBackward(g, a, b, transposeA: transposed, transposeB: transposed)
            try f.assertClose(da, "\(name)_da")
            try f.assertClose(db, "\(name)_db")
        }
    }

    func testTransposedViewsAreUsedInPlace() throws {
        let f = try TensorFixture("matmul")
        // aᵀ and bᵀ as views (column-major strides) give the same product as the transpose flags.
        let a = try f.tensor("trans_a").transposed(0, 1), b = try f.tensor("trans_b").transposed(0, 1)
        try f.assertClose(try matmul(a, b), "trans_y")
        // A batch times one shared matrix.
        let batch = try f.tensor("batch_a"), shared = try f.tensor("plain_b")
        let y = try matmul(batch, shared)
        let first = try matmul(batch.sliced(axis: 0, range: 1..<2).reshaped([4, 37]), shared)
        assertValuesClose(try y.sliced(axis: 0, range: 1..<2).toArray(), first.toArray(), tolerance: 1e-6, "shared")
        let (_, dShared) = try matmulBackward(y, batch, shared)
        XCTAssertEqual(dShared.shape, [37, 6])
    }

    func testLinearAgainstPyTorchAndFiniteDifferences() throws {
        let f = try TensorFixture("linear")
        let x = try f.tensor("x"), w = try f.tensor("weight"), b = try f.tensor("bias"), g = try f.tensor("g")
        try f.assertClose(try linear(x, weight: w, bias: b), "y")
        let grads = try linearBackward(g, input: x, weight: w, hasBias: true)
        try f.assertClose(grads.input, "dx")
        try f.assertClose(grads.weight, "dweight")
        if let bias = grads.bias { try f.assertClose(bias, "dbias") } else { XCTFail("no bias gradient") }
        try assertMatchesFiniteDifferences(grads.input, at: x, upstream: g, "linear dx") { try linear($0, weight: w, bias: b) }
        try assertMatchesFiniteDifferences(grads.weight, at: w, upstream: g, "linear dW") { try linear(x, weight: $0, bias: b) }
        try assertMatchesFiniteDifferences(grads.bias!, at: b, upstream: g, "linear db") { try linear(x, weight: w, bias: $0) }
        // Without bias: plain x·Wᵀ.
        let plain = try linear(x, weight: w, bias: nil)
        let expected = try subtract(f.tensor("y"), b)
        assertValuesClose(plain.toArray(), expected.toArray(), tolerance: 1e-5, "linear without bias")
    }

    func testMatmulFiniteDifferences() throws {
        let f = try TensorFixture("matmul")
        let a = try f.tensor("batch_a"), b = try f.tensor("batch_b"), g = try f.tensor("batch_g")
        let (da, db) = try matmulBackward(g, a, b)
        try assertMatchesFiniteDifferences(da, at: a, upstream: g, "bmm da") { try matmul($0, b) }
        try assertMatchesFiniteDifferences(db, at: b, upstream: g, "bmm db") { try matmul(a, $0) }
    }

    func testShapeErrorsNameOpAndShapes() throws {
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [4, 5])
        assertThrows(.shapeMismatch(op: "matmul", lhs: [2, 3], rhs: [4, 5])) { _ = try matmul(a, b) }
        assertThrows(.shapeMismatch(op: "matmul", lhs: [2, 2, 3], rhs: [3, 3, 5])) {
            _ = try matmul(Tensor(zeros: [2, 2, 3]), Tensor(zeros: [3, 3, 5]))
        }
        assertThrows(.shapeMismatch(op: "linear", lhs: [2, 3], rhs: [4, 5])) { _ = try linear(a, weight: b, bias: nil) }
        assertThrows(.shapeMismatch(op: "linear bias", lhs: [4, 3], rhs: [5])) {
            _ = try linear(a, weight: Tensor(zeros: [4, 3]), bias: Tensor(zeros: [5]))
        }
        let error = TensorError.shapeMismatch(op: "matmul", lhs: [2, 3], rhs: [4, 5])
        XCTAssertEqual(error.description, "matmul: shapes [2, 3] and [4, 5] do not match")
    }
}
