import Foundation

/// Softmax and log-softmax over the last axis, forward and backward side by side.

/// Calls `body(row, maskRow)` for every row of `shape`'s last axis, with the matching row of a mask that
/// broadcasts to `shape` (nil when there is no mask), split across the cores.
private func forEachSoftmaxRow(_ shape: [Int], mask: Tensor?, op: String,
                               _ body: (Int, UnsafePointer<Float>?) -> Void) throws {
    let length = shape.last ?? 1
    let rows = length == 0 ? 0 : shape.reduce(1, *) / length
    guard let mask else {
        Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: 4 * length)) { range in
            for row in range { body(row, nil) }
        }
        return
    }
    guard mask.rank <= shape.count, mask.shape.last == length,
          try broadcastShape(shape, mask.shape, op: op) == shape else {
        throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: mask.shape)
    }
    let values = mask.contiguous()
    let strides = broadcastStrides(mask.shape, to: shape)
    withExtendedLifetime(values) {
        let base = UnsafePointer(values.storage.pointer + values.offset)
        Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: 4 * length)) { range in
            for row in range {
                var remainder = row, offset = 0
                for axis in stride(from: shape.count - 2, through: 0, by: -1) {
                    offset += (remainder % shape[axis]) * strides[axis]
                    remainder /= shape[axis]
                }
                body(row, base + offset)
            }
        }
    }
}

/// Writes x (+ mask) into `out` and returns its maximum.
@inline(__always)
func maskedCopyMax(_ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                           _ length: Int) -> Float {
    @inline(__always) func maskedLoad(_ column: Int, count: Int = vectorWidth) -> FloatVector {
        let fill = -Float.infinity
        var v = count == vectorWidth ? loadVector(x + column) : loadPartialVector(x + column, count, fill: fill)
        if let mask { v += count == vectorWidth ? loadVector(mask + column) : loadPartialVector(mask + column, count) }
        return v
    }
    guard length >= vectorWidth else {
        let v = maskedLoad(0, count: length)
        storePartialVector(v, out, length)
        return horizontalMax(v)
    }
    var best = FloatVector(repeating: -.infinity)
    var column = 0
    while column &+ vectorWidth <= length {
        let v = maskedLoad(column)
        storeVector(v, out + column)
        best = best.replacing(with: v, where: v .> best)
        column &+= vectorWidth
    }
    if column < length {
        // The last 16 elements again (max and copy do not mind seeing some twice): no partial loads.
        let v = maskedLoad(length - vectorWidth)
        storeVector(v, out + length - vectorWidth)
        best = best.replacing(with: v, where: v .> best)
    }
    return horizontalMax(best)
}

/// Replaces `row[i]` with e^(row[i] − shift) and returns their sum.
@inline(__always)
func exponentiateShifted(_ row: UnsafeMutablePointer<Float>, _ length: Int, shift: Float) -> Float {
    guard length >= vectorWidth else {
        let e = vectorExpNonPositive(loadPartialVector(row, length, fill: -.infinity) - shift)
        storePartialVector(e, row, length)
        return e.sum()
    }
    // The row's last 16 elements, exponentiated before the loop overwrites any of them: the loop leaves
    // fewer than 16 at the end, and storing this whole vector afterwards covers them (the lanes the loop
    // also did get the same values again), with no partial loads or stores.
    let tailStart = length - vectorWidth
    let tail = vectorExpNonPositive(loadVector(row + tailStart) - shift)
    var total = FloatVector()
    var column = 0
    while column &+ vectorWidth <= length {
        let e = vectorExpNonPositive(loadVector(row + column) - shift)
        storeVector(e, row + column)
        total += e
        column &+= vectorWidth
    }
    if column < length {
        storeVector(tail, row + tailStart)
        let laneIndices = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let alreadySummed = SIMD16<Int32>(repeating: Int32(truncatingIfNeeded: column - tailStart))
        total += tail.replacing(with: 0, where: laneIndices .< alreadySummed)
    }
    return total.sum()
}

/// Multiplies `length` floats at `row` by `factor`.
@inline(__always)
func scaleRow(_ row: UnsafeMutablePointer<Float>, _ length: Int, by factor: Float) {
    guard length >= vectorWidth else {
        storePartialVector(loadPartialVector(row, length) * factor, row, length)
        return
    }
    // As in `exponentiateShifted`: the last 16 elements are scaled before the loop and stored after it.
    let tail = loadVector(row + length - vectorWidth) * factor
    var column = 0
    while column &+ vectorWidth <= length {
        storeVector(loadVector(row + column) * factor, row + column)
        column &+= vectorWidth
    }
    storeVector(tail, row + length - vectorWidth)
}

/// softmax(x + mask) over the last axis. The additive mask (e.g. 0 / −∞) broadcasts to x and has x's last axis.
/// - Throws: `TensorError.shapeMismatch` naming x and the mask when the mask does not broadcast.
public func softmax(lastAxisOf x: Tensor, additiveMask mask: Tensor? = nil) throws -> Tensor {
    let length = x.shape.last ?? 1
    let input = x.contiguous()
    let output = Tensor(uninitialized: x.shape)
    try withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset), destination = output.storage.pointer
        try forEachSoftmaxRow(x.shape, mask: mask, op: "softmax") { row, maskRow in
            let out = destination + row * length
            let largest = maskedCopyMax(source + row * length, maskRow, out, length)
            let total = exponentiateShifted(out, length, shift: largest)
            scaleRow(out, length, by: 1 / total)
        }
    }
    return output
}

/// The frame both backward passes share: checks the shapes, then calls `body(g, y, dx, length)` for every row.
private func rowwiseBackward(_ gradOutput: Tensor, output y: Tensor, op: String,
                             _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)
    throws -> Tensor {
    guard gradOutput.shape == y.shape else {
        throw TensorError.shapeMismatch(op: op, lhs: gradOutput.shape, rhs: y.shape)
    }
    let length = y.shape.last ?? 1
    let g = gradOutput.contiguous(), output = y.contiguous()
    let gradInput = Tensor(uninitialized: y.shape)
    try withExtendedLifetime((g, output)) {
        let gs = UnsafePointer(g.storage.pointer + g.offset), ys = UnsafePointer(output.storage.pointer + output.offset)
        let dx = gradInput.storage.pointer
        try forEachSoftmaxRow(y.shape, mask: nil, op: op) { row, _ in
            body(gs + row * length, ys + row * length, dx + row * length, length)
        }
    }
    return gradInput
}

/// Backward of `softmax`, from its output y: dx = y·(g − Σ g·y) per row. (The mask is a constant.)
public func softmaxBackward(_ gradOutput: Tensor, output y: Tensor) throws -> Tensor {
    try rowwiseBackward(gradOutput, output: y, op: "softmaxBackward") { gRow, yRow, out, length in
        let dot = vectorDot(gRow, yRow, length)
        var column = 0
        while column + vectorWidth <= length {
            storeVector(loadVector(yRow + column) * (loadVector(gRow + column) - dot), out + column)
            column += vectorWidth
        }
        while column < length {
            out[column] = yRow[column] * (gRow[column] - dot)
            column += 1
        }
    }
}

/// log softmax(x) over the last axis: x − max − log Σ e^(x − max).
public func logSoftmax(lastAxisOf x: Tensor) -> Tensor {
    let length = x.shape.last ?? 1
    let input = x.contiguous()
    let output = Tensor(uninitialized: x.shape)
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset), destination = output.storage.pointer
        try? forEachSoftmaxRow(x.shape, mask: nil, op: "logSoftmax") { row, _ in
            let xRow = source + row * length, out = destination + row * length
            let largest = maskedCopyMax(xRow, nil, out, length)
            let shift = largest + Float(Foundation.log(Double(exponentiateShifted(out, length, shift: largest))))
            var column = 0
            while column + vectorWidth <= length {
                storeVector(loadVector(xRow + column) - shift, out + column)
                column += vectorWidth
            }
            while column < length {
                out[column] = xRow[column] - shift
                column += 1
            }
        }
    }
    return output
}

/// Backward of `logSoftmax`, from its output y: dx = g − e^y·Σ g per row.
public func logSoftmaxBackward(_ gradOutput: Tensor, output y: Tensor) throws -> Tensor {
    try rowwiseBackward(gradOutput, output: y, op: "logSoftmaxBackward") { gRow, yRow, out, length in
        let total = vectorSum(gRow, length)
        var column = 0
        while column + vectorWidth <= length {
            storeVector(loadVector(gRow + column) - vectorExpNonPositive(loadVector(yRow + column)) * total, out + column)
            column += vectorWidth
        }
        if column < length {
            let rest = length - column
            let value = loadPartialVector(gRow + column, rest) - vectorExpNonPositive(loadPartialVector(yRow + column, rest)) * total
            storePartialVector(value, out + column, rest)
        }
    }
}

/// Largest lane of `vector`, by halving (no per-lane memory round trips).
@inline(__always)
private func horizontalMax(_ vector: FloatVector) -> Float {
    let half = vector.lowHalf.replacing(with: vector.highHalf, where: vector.highHalf .> vector.lowHalf)
    let quarter = half.lowHalf.replacing(with: half.highHalf, where: half.highHalf .> half.lowHalf)
    let pair = quarter.lowHalf.replacing(with: quarter.highHalf, where: quarter.highHalf .> quarter.lowHalf)
    return Swift.max(pair[0], pair[1])
}
