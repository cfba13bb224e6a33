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

    /// Backward of a lookup of `ids`: adds each upstream row to the gradient row of its id, except rows of
    /// `paddingIndex` (PyTorch's `padding_idx`), directly in the gradient buffer.
    /// - Throws: `TensorError.shapeMismatch` when the upstream gradient does not hold one row per id.
    public func backward(_ gradOutput: Tensor, ids: [Int], paddingIndex: Int? = nil, into gradients: GradientStore) throws {
        guard gradients.requiresGradient(weight) else { return }
        let dimension = weight.shape[1], rows = weight.shape[0]
        guard gradOutput.count == ids.count * dimension else {
            throw TensorError.shapeMismatch(op: "Embedding.backward", lhs: gradOutput.shape, rhs: [ids.count, dimension])
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= rows }) {
            throw TensorError.invalidShape(op: "Embedding.backward", shape: weight.shape, reason: "id \(bad) is outside the table")
        }
        let upstream = gradOutput.contiguous()
        let table = gradients.buffer(for: weight)
        withExtendedLifetime(upstream) {
            let source = upstream.storage.pointer + upstream.offset, destination = table.storage.pointer + table.offset
            for (i, id) in ids.enumerated() where id != paddingIndex {
                let from = source + i * dimension, to = destination + id * dimension
                for column in 0..<dimension { to[column] += from[column] }
            }
        }
    }
}
