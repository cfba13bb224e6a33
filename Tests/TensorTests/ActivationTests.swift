import Tensor
import XCTest

/// GELU (erf), QuickGELU, ReLU, tanh, sigmoid: forward and backward against PyTorch (1e-5 × magnitude),
/// backward against finite differences (1e-2 relative).
final class ActivationTests: XCTestCase {
    func testAgainstPyTorchAndFiniteDifferences() throws {
        let f = try TensorFixture("activations")
        let x = try f.tensor("x")
        let cases: [(String, (Tensor) -> Tensor, (Tensor, Tensor, Tensor) throws -> Tensor)] = [
            ("gelu", gelu, { g, x, _ in try geluBackward(g, input: x) }),
            ("quick_gelu", quickGELU, { g, x, _ in try quickGELUBackward(g, input: x) }),
            ("relu", relu, { g, x, _ in try reluBackward(g, input: x) }),
            ("tanh", tanh, { g, _, y in try tanhBackward(g, output: y) }),
            ("sigmoid", sigmoid, { g, _, y in try sigmoidBackward(g, output: y) }),
        ]
        for (name, forward, backward) in cases {
            let y = forward(x)
            try f.assertClose(y, "\(name)_y")
            let g = try f.tensor("\(name)_g")
            let dx = try backward(g, x, y)
            try f.assertClose(dx, "\(name)_dx")
            try assertMatchesFiniteDifferences(dx, at: x, upstream: g, step: 1e-3, "\(name) dx") { forward($0) }
        }
    }

    func testLargeTensorsSplitAcrossThreadsAgree() throws {
        // 100 003 elements: several parallel chunks plus a vector tail; compare with the scalar front-end.
        let values = (0..<100_003).map { Float($0 % 1000) / 100 - 5 }
        let x = try Tensor(shape: [100_003], data: values)
        let y = gelu(x).toArray()
        for index in stride(from: 0, to: values.count, by: 997) {
            let v = values[index]
            XCTAssertEqual(y[index], 0.5 * v * (1 + VectorMath.erf(v * 0.70710677)), accuracy: 1e-6)
        }
        assertThrows(.shapeMismatch(op: "geluBackward", lhs: [2], rhs: [3])) {
            _ = try geluBackward(Tensor(zeros: [2]), input: Tensor(zeros: [3]))
        }
    }
}
