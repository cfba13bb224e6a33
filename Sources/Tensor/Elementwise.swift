/// Elementwise arithmetic with NumPy/PyTorch broadcasting (add, subtract, multiply), scaling, in-place
/// accumulation, and the backward passes (gradients summed back to each operand's shape).

/// The broadcast shape of `lhs` and `rhs` (trailing axes aligned; an axis of 1 stretches).
/// - Throws: `TensorError.shapeMismatch` naming `op` and both shapes when they cannot broadcast.
public func broadcastShape(_ lhs: [Int], _ rhs: [Int], op: String) throws -> [Int] {
    let rank = max(lhs.count, rhs.count)
    let left = [Int](repeating: 1, count: rank - lhs.count) + lhs
    let right = [Int](repeating: 1, count: rank - rhs.count) + rhs
    var shape = [Int](repeating: 1, count: rank)
    for axis in 0..<rank {
        if left[axis] == right[axis] || right[axis] == 1 {
            shape[axis] = left[axis]
        } else if left[axis] == 1 {
            shape[axis] = right[axis]
        } else {
            throw TensorError.shapeMismatch(op: op, lhs: lhs, rhs: rhs)
        }
    }
    return shape
}

/// Element strides of a contiguous `shape` read as `target` (broadcast axes get stride 0).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
    let strides = Tensor.contiguousStrides(padded)
    return target.indices.map { padded[$0] == 1 && target[$0] != 1 ? 0 : strides[$0] }
}

@inline(__always)
private func broadcastBinary<Kernel: BinaryLaneKernel>(_ a: Tensor, _ b: Tensor, op: String,
                                                        _ body: Kernel) throws -> Tensor {
    if a.shape == b.shape { return try zipElements(a, b, op: op, body) }
    let shape = try broadcastShape(a.shape, b.shape, op: op)
    let left = a.contiguous(), right = b.contiguous()
    let leftStrides = broadcastStrides(a.shape, to: shape), rightStrides = broadcastStrides(b.shape, to: shape)
    let result = Tensor(uninitialized: shape)
    let rowLength = shape.last ?? 1
    let rows = rowLength == 0 ? 0 : result.count / rowLength
    let leftStep = leftStrides.last ?? 0, rightStep = rightStrides.last ?? 0
    withExtendedLifetime((left, right)) {
        let x = UnsafePointer(left.storage.pointer + left.offset)
        let y = UnsafePointer(right.storage.pointer + right.offset)
        let output = result.storage.pointer
        Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: rowLength)) { range in
            for row in range {
                var remainder = row, leftOffset = 0, rightOffset = 0
                for axis in stride(from: shape.count - 2, through: 0, by: -1) {
                    let index = remainder % shape[axis]
                    remainder /= shape[axis]
                    leftOffset += index * leftStrides[axis]
                    rightOffset += index * rightStrides[axis]
                }
                let xRow = x + leftOffset, yRow = y + rightOffset, outRow = output + row * rowLength
                var column = 0
                while column < rowLength {
                    let width = min(vectorWidth, rowLength - column)
                    let u = leftStep == 0 ? FloatVector(repeating: xRow[0])
                        : width == vectorWidth ? loadVector(xRow + column) : loadPartialVector(xRow + column, width)
                    let v = rightStep == 0 ? FloatVector(repeating: yRow[0])
                        : width == vectorWidth ? loadVector(yRow + column) : loadPartialVector(yRow + column, width)
                    if width == vectorWidth {
                        storeVector(body(u, v), outRow + column)
                    } else {
                        storePartialVector(body(u, v), outRow + column, width)
                    }
                    column += vectorWidth
                }
            }
        }
    }
    return result
}

private struct SumKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector, _ y: FloatVector) -> FloatVector { x + y }
}

private struct DifferenceKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector, _ y: FloatVector) -> FloatVector { x - y }
}

private struct ProductKernel: BinaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector, _ y: FloatVector) -> FloatVector { x * y }
}

private struct ScaleKernel: UnaryLaneKernel {
    let factor: Float
    @inline(__always) func callAsFunction(_ x: FloatVector) -> FloatVector { x * factor }
}

/// a + b with broadcasting.
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try broadcastBinary(a, b, op: "add", SumKernel()) }

/// a − b with broadcasting.
public func subtract(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try broadcastBinary(a, b, op: "subtract", DifferenceKernel())
}

/// a · b (elementwise) with broadcasting.
public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try broadcastBinary(a, b, op: "multiply", ProductKernel())
}

/// factor · x.
public func scale(_ x: Tensor, by factor: Float) -> Tensor { mapElements(x, ScaleKernel(factor: factor)) }

/// Sums `gradient` over the axes along which an operand of `shape` was broadcast, giving a tensor of `shape`.
/// - Throws: `TensorError.shapeMismatch` when `shape` does not broadcast to the gradient's shape.
public func reduceToShape(_ gradient: Tensor, _ shape: [Int]) throws -> Tensor {
    if gradient.shape == shape { return gradient }
    guard try broadcastShape(gradient.shape, shape, op: "reduceToShape") == gradient.shape else {
        throw TensorError.shapeMismatch(op: "reduceToShape", lhs: gradient.shape, rhs: shape)
    }
    let padded = [Int](repeating: 1, count: gradient.rank - shape.count) + shape
    var reduced = gradient
    for axis in 0..<gradient.rank where padded[axis] == 1 && gradient.shape[axis] != 1 {
        reduced = try sum(reduced, axis: axis, keepDims: true)
    }
    return try reduced.reshaped(shape)
}

/// Backward of `add(a, b)`: the upstream gradient summed back to each operand's shape.
public func addBackward(_ gradOutput: Tensor, lhsShape: [Int], rhsShape: [Int]) throws -> (lhs: Tensor, rhs: Tensor) {
    (try reduceToShape(gradOutput, lhsShape), try reduceToShape(gradOutput, rhsShape))
}

/// Backward of `subtract(a, b)`: (g, −g), each summed back to its operand's shape.
public func subtractBackward(_ gradOutput: Tensor, lhsShape: [Int], rhsShape: [Int]) throws -> (lhs: Tensor, rhs: Tensor) {
    (try reduceToShape(gradOutput, lhsShape), try reduceToShape(scale(gradOutput, by: -1), rhsShape))
}

/// Backward of `multiply(a, b)`: (g·b, g·a), each summed back to its operand's shape.
public func multiplyBackward(_ gradOutput: Tensor, _ a: Tensor, _ b: Tensor) throws -> (lhs: Tensor, rhs: Tensor) {
    (try reduceToShape(multiply(gradOutput, b), a.shape), try reduceToShape(multiply(gradOutput, a), b.shape))
}

/// target += factor · value, in place in `target`'s storage (gradient accumulation).
/// - Throws: `TensorError.shapeMismatch` when the shapes differ, `TensorError.invalidShape` when `target`
///   is not contiguous (it would write through a view in surprising ways).
public func addInPlace(_ target: Tensor, _ value: Tensor, scale factor: Float = 1) throws {
    guard target.shape == value.shape else {
        throw TensorError.shapeMismatch(op: "addInPlace", lhs: target.shape, rhs: value.shape)
    }
    guard target.isContiguous else {
        throw TensorError.invalidShape(op: "addInPlace", shape: target.shape, reason: "the target must be contiguous")
    }
    let source = value.contiguous()
    withExtendedLifetime(source) {
        let x = UnsafePointer(source.storage.pointer + source.offset)
        let y = target.storage.pointer + target.offset
        forEachVectorRange(target.count, grain: 32_768) { start, end in
            var index = start
            while index + vectorWidth <= end {
                storeVector(loadVector(y + index) + factor * loadVector(x + index), y + index)
                index += vectorWidth
            }
            while index < end {
                y[index] += factor * x[index]
                index += 1
            }
        }
    }
}
