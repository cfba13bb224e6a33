import Tensor
import XCTest

/// Layer norm against PyTorch (1e-5 × magnitude) and finite differences (1e-2 relative).
final class LayerNormTests: XCTestCase {
    func testAgainstPyTorchAndFiniteDifferences() throws {
        let f = try TensorFixture("layernorm")
        let x = try f.tensor("x"), w = try f.tensor("weight"), b = try f.tensor("bias"), g = try f.tensor("g")
        let result = try layerNorm(x, weight: w, bias: b, eps: 1e-5)
        try f.assertClose(result.output, "y")
        try f.assertClose(result.mean, "mean")
        try f.assertClose(result.rstd, "rstd")
        let grads = try layerNormBackward(g, input: x, weight: w, mean: result.mean, rstd: result.rstd)
        try f.assertClose(grads.input, "dx")
        try f.assertClose(grads.weight, "dweight")
        try f.assertClose(grads.bias, "dbias")
        try assertMatchesFiniteDifferences(grads.input, at: x, upstream: g, "layerNorm dx") {
            try layerNorm($0, weight: w, bias: b, eps: 1e-5).output
        }
        try assertMatchesFiniteDifferences(grads.weight, at: w, upstream: g, "layerNorm dweight") {
            try layerNorm(x, weight: $0, bias: b, eps: 1e-5).output
        }
    }

    func testShapeErrors() {
        assertThrows(.shapeMismatch(op: "layerNorm", lhs: [2, 5], rhs: [4])) {
            _ = try layerNorm(Tensor(zeros: [2, 5]), weight: Tensor(zeros: [4]), bias: Tensor(zeros: [4]), eps: 1e-5)
        }
    }
}
