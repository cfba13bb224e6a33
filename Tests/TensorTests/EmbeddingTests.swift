import Tensor
import XCTest

/// Embedding gather and scatter-add backward against PyTorch (exact up to 1e-5 × magnitude) and finite differences.
final class EmbeddingTests: XCTestCase {
    func testAgainstPyTorch() throws {
        let f = try TensorFixture("embedding")
        let table = try f.tensor("table"), ids = try f.ints("ids"), g = try f.tensor("g")
        let y = try embedding(ids: ids, shape: [2, 4], table: table)
        try f.assertClose(y, "y")
        try f.assertClose(try embedding(ids: ids.map { Int32($0) }, shape: [2, 4], table: table), "y")
        try f.assertClose(try embeddingBackward(g, ids: ids, vocabularySize: 11), "dtable")
        try f.assertClose(try embeddingBackward(g, ids: ids, vocabularySize: 11, paddingIndex: 0), "dtable_padding0")
        try assertMatchesFiniteDifferences(try embeddingBackward(g, ids: ids, vocabularySize: 11), at: table, upstream: g,
                                           "embedding dtable") { try embedding(ids: ids, shape: [2, 4], table: $0) }
    }

    func testErrors() {
        let table = Tensor(zeros: [3, 4])
        assertThrows(.invalidShape(op: "embedding", shape: [3, 4], reason: "id 3 is outside 0..<3")) {
            _ = try embedding(ids: [0, 3], table: table)
        }
        assertThrows(.shapeMismatch(op: "embedding", lhs: [3], rhs: [2])) { _ = try embedding(ids: [0, 1], shape: [3], table: table) }
        assertThrows(.shapeMismatch(op: "embeddingBackward", lhs: [2, 4], rhs: [3])) {
            _ = try embeddingBackward(Tensor(zeros: [2, 4]), ids: [0, 1, 2], vocabularySize: 3)
        }
    }
}
