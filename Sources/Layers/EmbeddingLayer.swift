import Tensor

/// A lookup table `[count, dim]`.
public struct Embedding: StatefulModule, Sendable {
    public let weight: Tensor

    public init(count: Int, dimension: Int) {
        weight = Tensor(zeros: [count, dimension])
    }

    /// Rows of the table for `ids` laid out as `shape` → `shape + [dim]`.
    /// - Throws: `TensorError` when an id is outside the table.
    public func callAsFunction(_ ids: [Int], shape: [Int]) throws -> Tensor {
        try embedding(ids: ids, shape: shape, table: weight)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(prefix.dotted("weight"), weight)]
    }
}
