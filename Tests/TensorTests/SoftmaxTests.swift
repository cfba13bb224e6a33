import Tensor
import XCTest

/// Softmax with an additive mask, log-softmax and cross-entropy against PyTorch (1e-5 × magnitude) and
/// finite differences (1e-2 relative).
final class SoftmaxTests: XCTestCase {
    func testMaskedSoftmax() throws {
        let f = try TensorFixture("softmax")
        let x = try f.tensor("x"), mask = try f.tensor("mask"), g = try f.tensor("g")
        let y = try softmax(lastAxisOf: x, additiveMask: mask)
        try f.assertClose(y, "y")
        let dx = try softmaxBackward(g, output: y)
        try f.assertClose(dx, "dx")
        try assertMatchesFiniteDifferences(dx, at: x, upstream: g, "softmax dx") { try softmax(lastAxisOf: $0, additiveMask: mask) }
        assertThrows(.shapeMismatch(op: "softmax", lhs: [2, 3, 5, 37], rhs: [3, 1, 1, 37])) {
            _ = try softmax(lastAxisOf: x, additiveMask: Tensor(zeros: [3, 1, 1, 37]))
        }
    }

    func testLogSoftmax() throws {
        let f = try TensorFixture("softmax")
        let x = try f.tensor("log_x"), g = try f.tensor("log_g")
        let y = logSoftmax(lastAxisOf: x)
        try f.assertClose(y, "log_y")
        let dx = try logSoftmaxBackward(g, output: y)
        try f.assertClose(dx, "log_dx")
        try assertMatchesFiniteDifferences(dx, at: x, upstream: g, "logSoftmax dx") { logSoftmax(lastAxisOf: $0) }
    }

    func testCrossEntropy() throws {
        let f = try TensorFixture("cross_entropy")
        let logits = try f.tensor("logits"), labels = try f.ints("labels")
        let result = try crossEntropy(logits: logits, labels: labels)
        XCTAssertEqual(result.loss, try f.tensor("loss").toArray()[0], accuracy: 1e-5)
        try f.assertClose(result.probabilities, "probabilities")
        let dlogits = try crossEntropyBackward(probabilities: result.probabilities, labels: labels)
        try f.assertClose(dlogits, "dlogits")
        try assertMatchesFiniteDifferences(dlogits, at: logits, upstream: Tensor(scalar: 1), "crossEntropy") {
            Tensor(scalar: try crossEntropy(logits: $0, labels: labels).loss)
        }
        assertThrows(.shapeMismatch(op: "crossEntropy", lhs: [6, 37], rhs: [2])) { _ = try crossEntropy(logits: logits, labels: [1, 2]) }
        XCTAssertThrowsError(try crossEntropy(logits: logits, labels: [0, 1, 2, 3, 4, 37]))
    }
}
