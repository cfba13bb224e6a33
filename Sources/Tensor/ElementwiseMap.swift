/// The vectorised, parallel loops behind every elementwise kernel: 16 lanes at a time, a zero-padded
/// partial vector for the tail, contiguous chunks over the cores.

/// A lane-wise function of one vector. The loops below take kernels as types rather than closures, so
/// each loop is specialised with its kernel inlined: no call per vector, and the optimiser can overlap
/// consecutive vectors.
protocol UnaryLaneKernel {
    /// The function on 16 lanes.
    func callAsFunction(_ x: FloatVector) -> FloatVector
}

/// A lane-wise function of two vectors (see `UnaryLaneKernel`).
protocol BinaryLaneKernel {
    /// The function on 16 lanes of each operand.
    func callAsFunction(_ x: FloatVector, _ y: FloatVector) -> FloatVector
}

/// Applies `body` to every element of `x` (made contiguous), writing a new tensor of the same shape.
@inline(__always)
func mapElements<Kernel: UnaryLaneKernel>(_ x: Tensor, grain: Int = 32_768, _ body: Kernel) -> Tensor {
    let input = x.contiguous()
    let result = Tensor(uninitialized: x.shape)
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let destination = result.storage.pointer
        forEachVectorRange(x.count, grain: grain) { start, end in
            var index = start
            while index &+ vectorWidth <= end {
                storeVector(body(loadVector(source + index)), destination + index)
                index &+= vectorWidth
            }
            if index < end {
                storePartialVector(body(loadPartialVector(source + index, end - index)), destination + index, end - index)
            }
        }
    }
    return result
}

/// Applies `body` lane by lane to two tensors of the same shape, writing a new tensor of that shape.
/// - Throws: `TensorError.shapeMismatch` naming `op` when the shapes differ.
@inline(__always)
func zipElements<Kernel: BinaryLaneKernel>(_ a: Tensor, _ b: Tensor, op: String, grain: Int = 32_768,
                                           _ body: Kernel) throws -> Tensor {
    guard a.shape == b.shape else { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
    let left = a.contiguous(), right = b.contiguous()
    let result = Tensor(uninitialized: a.shape)
    withExtendedLifetime((left, right)) {
        let x = UnsafePointer(left.storage.pointer + left.offset)
        let y = UnsafePointer(right.storage.pointer + right.offset)
        let destination = result.storage.pointer
        forEachVectorRange(a.count, grain: grain) { start, end in
            var index = start
            while index &+ vectorWidth <= end {
                storeVector(body(loadVector(x + index), loadVector(y + index)), destination + index)
                index &+= vectorWidth
            }
            if index < end {
                let rest = end - index
                storePartialVector(body(loadPartialVector(x + index, rest), loadPartialVector(y + index, rest)),
                                   destination + index, rest)
            }
        }
    }
    return result
}

/// Splits `0..<count` into per-thread ranges whose boundaries fall on whole vectors.
@inline(__always)
func forEachVectorRange(_ count: Int, grain: Int, _ body: (Int, Int) -> Void) {
    let vectors = (count + vectorWidth - 1) / vectorWidth
    Parallel.forRanges(vectors, grain: max(1, grain / vectorWidth)) { range in
        body(range.lowerBound * vectorWidth, min(range.upperBound * vectorWidth, count))
    }
}

/// Σ x[i] over `count` contiguous floats, 16 lanes wide.
@inline(__always)
func vectorSum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var accumulator = FloatVector()
    var index = 0
    while index + vectorWidth <= count {
        accumulator += loadVector(x + index)
        index += vectorWidth
    }
    if index < count { accumulator += loadPartialVector(x + index, count - index) }
    return accumulator.sum()
}

/// Σ x[i]·y[i] over `count` contiguous floats, 16 lanes wide.
@inline(__always)
func vectorDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    var accumulator = FloatVector()
    var index = 0
    while index + vectorWidth <= count {
        accumulator += loadVector(x + index) * loadVector(y + index)
        index += vectorWidth
    }
    if index < count {
        accumulator += loadPartialVector(x + index, count - index) * loadPartialVector(y + index, count - index)
    }
    return accumulator.sum()
}

/// Σ (x[i] − mean)² over `count` contiguous floats, 16 lanes wide (the second pass of a two-pass variance).
@inline(__always)
func vectorSquaredDeviations(_ x: UnsafePointer<Float>, _ count: Int, mean: Float) -> Float {
    var accumulator = FloatVector()
    var index = 0
    while index + vectorWidth <= count {
        let d = loadVector(x + index) - mean
        accumulator += d * d
        index += vectorWidth
    }
    var tail: Float = 0
    while index < count {
        let d = x[index] - mean
        tail += d * d
        index += 1
    }
    return accumulator.sum() + tail
}
