/// Embedding lookup (gather rows of a table by id) and its scatter-add backward.

private func checkIds(_ ids: [Int], vocabularySize: Int, op: String, tableShape: [Int]) throws {
    if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
        throw TensorError.invalidShape(op: op, shape: tableShape, reason: "id \(bad) is outside 0..<\(vocabularySize)")
    }
}

/// Rows `table[ids[i]]` for a table [V, D]; the result has shape `idsShape + [D]` (`idsShape` defaults to
/// `[ids.count]`, e.g. pass [batch, length] for token ids).
/// - Throws: `TensorError.invalidShape` for an id outside the table or a table that is not rank 2,
///   `TensorError.shapeMismatch` when `idsShape` does not hold `ids.count` elements.
public func embedding(ids: [Int], shape idsShape: [Int]? = nil, table: Tensor) throws -> Tensor {
    guard table.rank == 2 else {
        throw TensorError.invalidShape(op: "embedding", shape: table.shape, reason: "the table must be [V, D]")
    }
    let outerShape = idsShape ?? [ids.count]
    guard outerShape.reduce(1, *) == ids.count else {
        throw TensorError.shapeMismatch(op: "embedding", lhs: outerShape, rhs: [ids.count])
    }
    try checkIds(ids, vocabularySize: table.shape[0], op: "embedding", tableShape: table.shape)
    let dimension = table.shape[1]
    let rows = table.contiguous()
    let result = Tensor(zeros: outerShape + [dimension])
    withExtendedLifetime(rows) {
        let source = UnsafePointer(rows.storage.pointer + rows.offset), destination = result.storage.pointer
        ids.withUnsafeBufferPointer { idBuffer in
            Parallel.forRanges(ids.count, grain: Parallel.grain(elementsPerItem: dimension)) { range in
                for i in range {
                    (destination + i * dimension).update(from: source + idBuffer[i] * dimension, count: dimension)
                }
            }
        }
    }
    return result
}

/// `embedding` for 32-bit ids (as tokenizers and datasets store them).
public func embedding(ids: [Int32], shape idsShape: [Int]? = nil, table: Tensor) throws -> Tensor {
    try embedding(ids: ids.map { Int($0) }, shape: idsShape, table: table)
}

/// Backward of `embedding`: a [V, D] gradient where row v is the sum of the upstream rows whose id is v.
/// Rows with id `paddingIndex` get no gradient (PyTorch's `padding_idx`). Work splits across the D columns,
/// so repeated ids never race.
/// - Throws: `TensorError.shapeMismatch` when the upstream gradient does not hold one [D] row per id.
public func embeddingBackward(_ gradOutput: Tensor, ids: [Int], vocabularySize: Int,
                              paddingIndex: Int? = nil) throws -> Tensor {
    let dimension = gradOutput.shape.last ?? 0
    guard gradOutput.rank >= 1, gradOutput.count == ids.count * dimension else {
        throw TensorError.shapeMismatch(op: "embeddingBackward", lhs: gradOutput.shape, rhs: [ids.count])
    }
    try checkIds(ids, vocabularySize: vocabularySize, op: "embeddingBackward", tableShape: [vocabularySize, dimension])
    let upstream = gradOutput.contiguous()
    let gradTable = Tensor(zeros: [vocabularySize, dimension])
    withExtendedLifetime(upstream) {
        let source = UnsafePointer(upstream.storage.pointer + upstream.offset), destination = gradTable.storage.pointer
        ids.withUnsafeBufferPointer { idBuffer in
            Parallel.forRanges(dimension, grain: max(vectorWidth, Parallel.grain(elementsPerItem: ids.count))) { columns in
                for (i, id) in idBuffer.enumerated() where id != paddingIndex {
                    let from = source + i * dimension, to = destination + id * dimension
                    for column in columns { to[column] += from[column] }
                }
            }
        }
    }
    return gradTable
}
