/// Reductions over one axis (sum, mean, max with indices, argmax) and their backward passes. Each views the
/// input as [outer, n, inner] around the reduced axis.

/// The [outer, n, inner] split of `shape` around `axis`.
private func reductionLayout(_ shape: [Int], axis: Int) -> (outer: Int, n: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

private func reducedShape(_ shape: [Int], axis: Int, keepDims: Bool) -> [Int] {
    var result = shape
    if keepDims { result[axis] = 1 } else { result.remove(at: axis) }
    return result
}

/// Σ along `axis` (negative counts from the end); `keepDims` keeps the axis with size 1.
/// - Throws: `TensorError.invalidAxis` for an axis outside the rank.
public func sum(_ x: Tensor, axis: Int, keepDims: Bool = false) throws -> Tensor {
    let resolved = try x.resolveAxis(axis, op: "sum")
    let (outer, n, inner) = reductionLayout(x.shape, axis: resolved)
    let input = x.contiguous()
    let result = Tensor(zeros: reducedShape(x.shape, axis: resolved, keepDims: keepDims))
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let output = result.storage.pointer
        if inner == 1 {
            Parallel.forRanges(outer, grain: Parallel.grain(elementsPerItem: n)) { range in
                for row in range { output[row] = vectorSum(source + row * n, n) }
            }
            return
        }
        // Blocks of 256 columns per work item, so a sum over the first axis still splits across cores.
        let blockWidth = 256
        let blocks = (inner + blockWidth - 1) / blockWidth
        Parallel.forRanges(outer * blocks, grain: Parallel.grain(elementsPerItem: n * min(inner, blockWidth))) { range in
            for item in range {
                let o = item / blocks, start = (item % blocks) * blockWidth
                let width = min(blockWidth, inner - start)
                let destination = output + o * inner + start
                for j in 0..<n {
                    let row = source + (o * n + j) * inner + start
                    var column = 0
                    while column + vectorWidth <= width {
                        storeVector(loadVector(destination + column) + loadVector(row + column), destination + column)
                        column += vectorWidth
                    }
                    while column < width {
                        destination[column] += row[column]
                        column += 1
                    }
                }
            }
        }
    }
    return result
}

/// Mean along `axis`.
public func mean(_ x: Tensor, axis: Int, keepDims: Bool = false) throws -> Tensor {
    let resolved = try x.resolveAxis(axis, op: "mean")
    let total = try sum(x, axis: resolved, keepDims: keepDims)
    return scale(total, by: 1 / Float(max(x.shape[resolved], 1)))
}

/// Largest value along `axis` and the index of its first occurrence (as PyTorch's `max(dim)`); NaN wins.
/// - Throws: `TensorError.invalidAxis`, or `TensorError.invalidShape` when the axis is empty.
public func max(_ x: Tensor, axis: Int, keepDims: Bool = false) throws -> (values: Tensor, indices: [Int]) {
    let resolved = try x.resolveAxis(axis, op: "max")
    let (outer, n, inner) = reductionLayout(x.shape, axis: resolved)
    guard n > 0 else { throw TensorError.invalidShape(op: "max", shape: x.shape, reason: "axis \(axis) is empty") }
    let input = x.contiguous()
    let values = Tensor(zeros: reducedShape(x.shape, axis: resolved, keepDims: keepDims))
    var indices = [Int](repeating: 0, count: outer * inner)
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let output = values.storage.pointer
        indices.withUnsafeMutableBufferPointer { indexBuffer in
            guard let best = indexBuffer.baseAddress else { return }
            Parallel.forRanges(outer * inner, grain: Parallel.grain(elementsPerItem: n)) { range in
                for item in range {
                    let o = item / inner, i = item % inner
                    let base = source + o * n * inner + i
                    var bestValue = base[0], bestIndex = 0
                    for j in 1..<max(n, 1) where !bestValue.isNaN {
                        let value = base[j * inner]
                        if value > bestValue || value.isNaN { bestValue = value; bestIndex = j }
                    }
                    output[item] = bestValue
                    best[item] = bestIndex
                }
            }
        }
    }
    return (values, indices)
}

/// Index of the largest value along `axis` (first occurrence), one per remaining element in row-major order.
public func argmax(_ x: Tensor, axis: Int) throws -> [Int] {
    try max(x, axis: axis).indices
}

/// Backward of `sum(x, axis:)`: the upstream gradient repeated along the reduced axis.
public func sumBackward(_ gradOutput: Tensor, inputShape: [Int], axis: Int) throws -> Tensor {
    let input = Tensor(zeros: inputShape)
    let resolved = try input.resolveAxis(axis, op: "sumBackward")
    let kept = reducedShape(inputShape, axis: resolved, keepDims: true)
    guard gradOutput.count == kept.reduce(1, *),
          gradOutput.shape == kept || gradOutput.shape == reducedShape(inputShape, axis: resolved, keepDims: false) else {
        throw TensorError.shapeMismatch(op: "sumBackward", lhs: gradOutput.shape, rhs: inputShape)
    }
    return try add(input, gradOutput.reshaped(kept))
}

/// Backward of `mean(x, axis:)`: the upstream gradient divided by n and repeated along the axis.
public func meanBackward(_ gradOutput: Tensor, inputShape: [Int], axis: Int) throws -> Tensor {
    let gradInput = try sumBackward(gradOutput, inputShape: inputShape, axis: axis)
    let resolved = try gradInput.resolveAxis(axis, op: "meanBackward")
    return scale(gradInput, by: 1 / Float(max(inputShape[resolved], 1)))
}

/// Backward of `max(x, axis:)`: each upstream gradient goes to the position of its maximum, zeros elsewhere.
public func maxBackward(_ gradOutput: Tensor, indices: [Int], inputShape: [Int], axis: Int) throws -> Tensor {
    let gradInput = Tensor(zeros: inputShape)
    let resolved = try gradInput.resolveAxis(axis, op: "maxBackward")
    let (outer, n, inner) = reductionLayout(inputShape, axis: resolved)
    guard gradOutput.count == outer * inner, indices.count == outer * inner else {
        throw TensorError.shapeMismatch(op: "maxBackward", lhs: gradOutput.shape, rhs: inputShape)
    }
    let upstream = gradOutput.contiguous()
    try withExtendedLifetime(upstream) {
        let source = upstream.storage.pointer + upstream.offset
        let output = gradInput.storage.pointer
        for item in 0..<(outer * inner) {
            let j = indices[item]
            guard j >= 0, j < n else {
                throw TensorError.invalidShape(op: "maxBackward", shape: inputShape, reason: "index \(j) is outside axis \(axis)")
            }
            output[(item / inner * n + j) * inner + item % inner] = source[item]
        }
    }
    return gradInput
}
