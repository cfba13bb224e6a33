/// Views that share storage (`reshaped`, `transposed`, `permuted`, `sliced`) and `contiguous()`, which copies
/// only when needed. Their backward passes are the inverse view of the gradient (reshape back, transpose back,
/// permute by the inverse permutation, pad the slice with zeros: `slicedBackward`).
extension Tensor {
    /// Resolves a possibly negative axis against `rank`.
    func resolveAxis(_ axis: Int, op: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank else { throw TensorError.invalidAxis(op: op, axis: axis, rank: rank) }
        return resolved
    }

    /// This tensor as contiguous row-major memory: itself when already contiguous, else a copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let result = Tensor(zeros: shape)
        copyElements(to: result.storage.pointer)
        return result
    }

    /// The same elements with a new shape (one entry may be -1: inferred). Shares storage when contiguous.
    /// - Throws: `TensorError.invalidShape` when the element counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        if inferred.count == 1, known > 0, count % known == 0 {
            resolved[inferred[0]] = count / known
        }
        guard inferred.count <= 1, resolved.allSatisfy({ $0 >= 0 }), resolved.reduce(1, *) == count else {
            throw TensorError.invalidShape(op: "reshaped", shape: shape,
                                           reason: "cannot view \(count) elements as \(newShape)")
        }
        let base = contiguous()
        return Tensor(storage: base.storage, shape: resolved, strides: Tensor.contiguousStrides(resolved),
                      offset: base.offset)
    }

    /// A view with axes `first` and `second` swapped (negative axes count from the end).
    public func transposed(_ first: Int, _ second: Int) throws -> Tensor {
        let a = try resolveAxis(first, op: "transposed")
        let b = try resolveAxis(second, op: "transposed")
        var order = Array(0..<rank)
        order.swapAt(a, b)
        return try permuted(order)
    }

    /// A view whose axis `i` is this tensor's axis `axes[i]`.
    /// - Throws: `TensorError.invalidShape` unless `axes` is a permutation of `0..<rank`.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw TensorError.invalidShape(op: "permuted", shape: shape, reason: "\(axes) is not a permutation of the axes")
        }
        return Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
    }

    /// A view of the elements `range` along `axis`.
    /// - Throws: `TensorError.invalidShape` when the range leaves `0..<shape[axis]`.
    public func sliced(axis: Int, range: Range<Int>) throws -> Tensor {
        let resolved = try resolveAxis(axis, op: "sliced")
        guard range.lowerBound >= 0, range.upperBound <= shape[resolved] else {
            throw TensorError.invalidShape(op: "sliced", shape: shape,
                                           reason: "range \(range) is outside axis \(axis) of size \(shape[resolved])")
        }
        var newShape = shape
        newShape[resolved] = range.count
        return Tensor(storage: storage, shape: newShape, strides: strides,
                      offset: offset + range.lowerBound * strides[resolved])
    }

    /// The inverse permutation of `axes`, used to take gradients back through `permuted`.
    public static func inversePermutation(_ axes: [Int]) -> [Int] {
        var inverse = [Int](repeating: 0, count: axes.count)
        for (position, axis) in axes.enumerated() where axis >= 0 && axis < axes.count { inverse[axis] = position }
        return inverse
    }
}

/// Backward of `sliced(axis:range:)`: a zero tensor of `inputShape` with `gradOutput` written into `range`.
public func slicedBackward(_ gradOutput: Tensor, inputShape: [Int], axis: Int, range: Range<Int>) throws -> Tensor {
    let gradInput = Tensor(zeros: inputShape)
    let window = try gradInput.sliced(axis: axis, range: range)
    guard window.shape == gradOutput.shape else {
        throw TensorError.shapeMismatch(op: "slicedBackward", lhs: window.shape, rhs: gradOutput.shape)
    }
    var index = 0
    let source = gradOutput.contiguous()
    withExtendedLifetime(source) {
        let values = source.storage.pointer + source.offset
        window.forEachIndex { position in
            gradInput.storage.pointer[position] = values[index]
            index += 1
        }
    }
    return gradInput
}
