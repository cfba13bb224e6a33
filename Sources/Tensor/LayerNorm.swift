/// Layer normalisation over the last axis (PyTorch `nn.LayerNorm`), forward and backward side by side.

/// What `layerNorm` returns: the output and the per-row statistics its backward needs.
public struct LayerNormResult {
    /// Normalised, scaled and shifted input, shaped like the input.
    public let output: Tensor
    /// Mean of each row, shape = input shape without the last axis.
    public let mean: Tensor
    /// 1/√(variance + eps) of each row (biased variance), same shape as `mean`.
    public let rstd: Tensor
}

/// y = (x − mean)·rstd·weight + bias over the last axis, with weight and bias of shape [C].
/// - Throws: `TensorError.shapeMismatch` when weight or bias does not match the last axis.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) throws -> LayerNormResult {
    guard x.rank >= 1, weight.shape == [x.shape[x.rank - 1]], bias.shape == weight.shape else {
        throw TensorError.shapeMismatch(op: "layerNorm", lhs: x.shape, rhs: weight.shape == bias.shape ? weight.shape : bias.shape)
    }
    let channels = x.shape[x.rank - 1]
    let rows = channels == 0 ? 0 : x.count / channels
    let input = x.contiguous(), w = weight.contiguous(), b = bias.contiguous()
    let output = Tensor(zeros: x.shape)
    let statisticsShape = Array(x.shape.dropLast())
    let means = Tensor(zeros: statisticsShape), rstds = Tensor(zeros: statisticsShape)
    withExtendedLifetime((input, w, b)) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let gamma = UnsafePointer(w.storage.pointer + w.offset), beta = UnsafePointer(b.storage.pointer + b.offset)
        let destination = output.storage.pointer
        let meanOut = means.storage.pointer, rstdOut = rstds.storage.pointer
        Parallel.forRanges(rows, grain: Parallel.grain(elementsPerItem: channels)) { range in
            for row in range {
                let xRow = source + row * channels, yRow = destination + row * channels
                let mu = vectorSum(xRow, channels) / Float(channels)
                // Two passes (mean, then squared deviations) keep the variance accurate for large means.
                var squares = FloatVector()
                var column = 0
                while column + vectorWidth <= channels {
                    let d = loadVector(xRow + column) - mu
                    squares += d * d
                    column += vectorWidth
                }
                var tail: Float = 0
                while column < channels {
                    let d = xRow[column] - mu
                    tail += d * d
                    column += 1
                }
                let variance = (squares.sum() + tail) / Float(channels)
                let r = 1 / (variance + eps).squareRoot()
                meanOut[row] = mu
                rstdOut[row] = r
                column = 0
                while column + vectorWidth <= channels {
                    let normalised = (loadVector(xRow + column) - mu) * r
                    storeVector(normalised * loadVector(gamma + column) + loadVector(beta + column), yRow + column)
                    column += vectorWidth
                }
                while column < channels {
                    yRow[column] = (xRow[column] - mu) * r * gamma[column] + beta[column]
                    column += 1
                }
            }
        }
    }
    return LayerNormResult(output: output, mean: means, rstd: rstds)
}

/// Gradients of `layerNorm`.
public struct LayerNormGradients {
    /// dL/dx, shaped like the input.
    public let input: Tensor
    /// dL/dweight, shape [C].
    public let weight: Tensor
    /// dL/dbias, shape [C].
    public let bias: Tensor
}

/// Backward of `layerNorm`: with n̂ = (x − mean)·rstd and d = g·weight,
/// dx = rstd·(d − mean(d) − n̂·mean(d·n̂)), dweight = Σ_rows g·n̂, dbias = Σ_rows g.
public func layerNormBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, mean: Tensor,
                              rstd: Tensor) throws -> LayerNormGradients {
    guard gradOutput.shape == x.shape, x.rank >= 1, weight.shape == [x.shape[x.rank - 1]] else {
        throw TensorError.shapeMismatch(op: "layerNormBackward", lhs: gradOutput.shape, rhs: x.shape)
    }
    guard mean.count * max(weight.count, 1) == x.count, rstd.count == mean.count else {
        throw TensorError.shapeMismatch(op: "layerNormBackward", lhs: x.shape, rhs: mean.shape)
    }
    let channels = weight.count
    let rows = mean.count
    let input = x.contiguous(), dy = gradOutput.contiguous(), w = weight.contiguous()
    let mu = mean.contiguous(), r = rstd.contiguous()
    let gradInput = Tensor(zeros: x.shape)
    let grain = Parallel.grain(elementsPerItem: channels)
    let chunks = Parallel.chunkCount(rows, grain: grain)
    // Per-chunk partial sums for dweight and dbias, added together after the parallel pass.
    let partial = Tensor(zeros: [max(chunks, 1), 2, channels])
    withExtendedLifetime((input, dy, w, mu, r)) {
        let xs = UnsafePointer(input.storage.pointer + input.offset), gs = UnsafePointer(dy.storage.pointer + dy.offset)
        let gamma = UnsafePointer(w.storage.pointer + w.offset)
        let means = mu.storage.pointer + mu.offset, rstds = r.storage.pointer + r.offset
        let dx = gradInput.storage.pointer, partials = partial.storage.pointer
        Parallel.forChunks(rows, grain: grain) { chunk, range in
            let dWeight = partials + chunk * 2 * channels, dBias = dWeight + channels
            for row in range {
                let xRow = xs + row * channels, gRow = gs + row * channels, dxRow = dx + row * channels
                let m = means[row], s = rstds[row]
                var sumD = FloatVector(), sumDN = FloatVector()
                var tailD: Float = 0, tailDN: Float = 0
                var column = 0
                while column + vectorWidth <= channels {
                    let g = loadVector(gRow + column)
                    let n = (loadVector(xRow + column) - m) * s
                    let d = g * loadVector(gamma + column)
                    sumD += d
                    sumDN += d * n
                    storeVector(loadVector(dWeight + column) + g * n, dWeight + column)
                    storeVector(loadVector(dBias + column) + g, dBias + column)
                    column += vectorWidth
                }
                while column < channels {
                    let g = gRow[column], n = (xRow[column] - m) * s, d = g * gamma[column]
                    tailD += d
                    tailDN += d * n
                    dWeight[column] += g * n
                    dBias[column] += g
                    column += 1
                }
                let meanD = (sumD.sum() + tailD) / Float(channels)
                let meanDN = (sumDN.sum() + tailDN) / Float(channels)
                column = 0
                while column + vectorWidth <= channels {
                    let n = (loadVector(xRow + column) - m) * s
                    let d = loadVector(gRow + column) * loadVector(gamma + column)
                    storeVector(s * (d - meanD - n * meanDN), dxRow + column)
                    column += vectorWidth
                }
                while column < channels {
                    let n = (xRow[column] - m) * s
                    dxRow[column] = s * (gRow[column] * gamma[column] - meanD - n * meanDN)
                    column += 1
                }
            }
        }
    }
    let totals = try sum(partial, axis: 0)
    return LayerNormGradients(input: gradInput, weight: try totals.sliced(axis: 0, range: 0..<1).reshaped([channels]),
                              bias: try totals.sliced(axis: 0, range: 1..<2).reshaped([channels]))
}
