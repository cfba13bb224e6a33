/// L2 normalisation over the last axis (how CLIP normalises features), forward and backward.

/// What `l2Normalize` returns: the unit rows and the row norms its backward needs.
public struct L2NormalizeResult {
    /// x / max(‖x‖, eps) row by row, shaped like x.
    public let output: Tensor
    /// ‖x‖ of each row (before clamping), shape = x's shape without the last axis.
    public let norms: Tensor
}

/// x / max(‖x‖₂, eps) over the last axis (PyTorch `F.normalize(x, dim=-1)`; equals `x / x.norm(dim=-1)`
/// for non-zero rows).
public func l2Normalize(_ x: Tensor, eps: Float = 1e-12) -> L2NormalizeResult {
    let length = x.shape.last ?? 1
    let rows = length == 0 ? 0 : x.count / length
    let input = x.contiguous()
    let output = Tensor(zeros: x.shape), norms = Tensor(zeros: Array(x.shape.dropLast()))
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let destination = output.storage.pointer, normValues = norms.storage.pointer
        Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: length)) { range in
            for row in range {
                let xRow = source + row * length
                let norm = vectorDot(xRow, xRow, length).squareRoot()
                normValues[row] = norm
                let factor = 1 / Swift.max(norm, eps)
                for column in 0..<length { destination[row * length + column] = xRow[column] * factor }
            }
        }
    }
    return L2NormalizeResult(output: output, norms: norms)
}

/// Backward of `l2Normalize`: dx = (g − y·Σ g·y)/‖x‖ per row (g/eps for rows whose norm was clamped).
public func l2NormalizeBackward(_ gradOutput: Tensor, output y: Tensor, norms: Tensor, eps: Float = 1e-12) throws -> Tensor {
    let length = y.shape.last ?? 1
    guard gradOutput.shape == y.shape, norms.count * length == y.count else {
        throw TensorError.shapeMismatch(op: "l2NormalizeBackward", lhs: gradOutput.shape, rhs: y.shape)
    }
    let g = gradOutput.contiguous(), unit = y.contiguous(), n = norms.contiguous()
    let gradInput = Tensor(zeros: y.shape)
    withExtendedLifetime((g, unit, n)) {
        let gs = UnsafePointer(g.storage.pointer + g.offset), ys = UnsafePointer(unit.storage.pointer + unit.offset)
        let normValues = n.storage.pointer + n.offset, dx = gradInput.storage.pointer
        Parallel.forRanges(norms.count, grain: Parallel.grain(elementsPerItem: length)) { range in
            for row in range {
                let gRow = gs + row * length, yRow = ys + row * length
                let norm = normValues[row]
                let clamped = norm < eps
                let dot = clamped ? 0 : vectorDot(gRow, yRow, length)
                let factor = 1 / Swift.max(norm, eps)
                for column in 0..<length {
                    dx[row * length + column] = (gRow[column] - yRow[column] * dot) * factor
                }
            }
        }
    }
    return gradInput
}
