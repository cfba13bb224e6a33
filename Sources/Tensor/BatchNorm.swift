/// Batch normalisation over the channels of [N, C, H, W] (PyTorch `nn.BatchNorm2d`), in evaluation mode
/// (running statistics) and training mode (batch statistics, running statistics updated), forward and backward.

/// What `batchNorm2d` returns: the output and the per-channel statistics its backward needs.
public struct BatchNormResult {
    /// Normalised, scaled and shifted input [N, C, H, W].
    public let output: Tensor
    /// Per-channel mean used (batch mean in training, running mean in evaluation), [C].
    public let mean: Tensor
    /// Per-channel 1/√(variance + eps) used, [C].
    public let invStd: Tensor
}

/// Per-channel (Σ, Σ of squared deviations from `mean`) over N×H×W, or just Σ when `mean` is nil.
func channelSums(_ x: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int, channel c: Int,
                         mean: Float?, weights: UnsafePointer<Float>? = nil) -> Double {
    var total = 0.0
    for n in 0..<batch {
        let values = x + (n * channels + c) * plane
        if let mean {
            total += Double(vectorSquaredDeviations(values, plane, mean: mean))
        } else if let weights {
            total += Double(vectorDot(values, weights + (n * channels + c) * plane, plane))
        } else {
            total += Double(vectorSum(values, plane))
        }
    }
    return total
}

/// BatchNorm2d. Training uses the batch's biased variance and updates `runningMean`/`runningVar` in place
/// (momentum-weighted, unbiased variance, as PyTorch); evaluation uses the running statistics.
/// - Throws: `TensorError.shapeMismatch` when a [C] parameter does not match x's channels,
///   `TensorError.invalidShape` when x is not [N, C, H, W] or running statistics are not contiguous.
public func batchNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                        training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) throws -> BatchNormResult {
    let (batch, channels, plane) = try batchNormForwardExtents(op: "batchNorm2d", x, parameters: [weight, bias],
                                                               runningMean: runningMean, runningVar: runningVar)
    let count = batch * plane
    if training && count <= 1 {
        throw TensorError.invalidShape(op: "batchNorm2d", shape: x.shape, reason: "training needs more than one value per channel")
    }
    let input = x.contiguous(), w = weight.contiguous(), b = bias.contiguous()
    let output = Tensor(zeros: x.shape), means = Tensor(zeros: [channels]), invStds = Tensor(zeros: [channels])
    withExtendedLifetime((input, w, b)) {
        let source = UnsafePointer(input.storage.pointer + input.offset), destination = output.storage.pointer
        let runMean = runningMean.storage.pointer + runningMean.offset, runVar = runningVar.storage.pointer + runningVar.offset
        let gamma = w.storage.pointer + w.offset, beta = b.storage.pointer + b.offset
        Parallel.forRanges(channels, grain: Parallel.grain(elementsPerItem: 3 * count)) { range in
            for c in range {
                var mu = runMean[c], variance = runVar[c]
                if training {
                    mu = Float(channelSums(source, batch: batch, channels: channels, plane: plane, channel: c, mean: nil) / Double(count))
                    let squares = channelSums(source, batch: batch, channels: channels, plane: plane, channel: c, mean: mu)
                    variance = Float(squares / Double(count))
                    runMean[c] = (1 - momentum) * runMean[c] + momentum * mu
                    runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(squares / Double(count - 1))
                }
                let invStd = 1 / (variance + eps).squareRoot()
                means.storage.pointer[c] = mu
                invStds.storage.pointer[c] = invStd
                let factor = gamma[c] * invStd, shift = beta[c] - mu * factor
                for n in 0..<batch {
                    let offset = (n * channels + c) * plane
                    for index in 0..<plane { destination[offset + index] = source[offset + index] * factor + shift }
                }
            }
        }
    }
    return BatchNormResult(output: output, mean: means, invStd: invStds)
}

/// Gradients of `batchNorm2d`.
public struct BatchNormGradients {
    /// dL/dx [N, C, H, W].
    public let input: Tensor
    /// dL/dweight [C].
    public let weight: Tensor
    /// dL/dbias [C].
    public let bias: Tensor
}

/// Backward of `batchNorm2d` given the `mean`/`invStd` it returned. With x̂ = (x − mean)·invStd and M = N·H·W:
/// dbias = Σ g, dweight = Σ g·x̂; training: dx = weight·invStd/M·(M·g − dbias − x̂·dweight);
/// evaluation: dx = g·weight·invStd.
public func batchNorm2dBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, mean: Tensor, invStd: Tensor,
                                training: Bool) throws -> BatchNormGradients {
    let (batch, channels, plane) = try batchNormBackwardExtents(op: "batchNorm2dBackward", gradOutput, x,
                                                                parameters: [weight, mean, invStd])
    let input = x.contiguous(), dy = gradOutput.contiguous(), w = weight.contiguous()
    let mu = mean.contiguous(), s = invStd.contiguous()
    let gradInput = Tensor(zeros: x.shape), gradWeight = Tensor(zeros: [channels]), gradBias = Tensor(zeros: [channels])
    let count = Float(batch * plane)
    withExtendedLifetime((input, dy, w, mu, s)) {
        let xs = UnsafePointer(input.storage.pointer + input.offset), gs = UnsafePointer(dy.storage.pointer + dy.offset)
        let gamma = w.storage.pointer + w.offset, means = mu.storage.pointer + mu.offset
        let invStds = s.storage.pointer + s.offset, dx = gradInput.storage.pointer
        Parallel.forRanges(channels, grain: Parallel.grain(elementsPerItem: 3 * batch * plane)) { range in
            for c in range {
                let m = means[c], invStd = invStds[c]
                let totalG = channelSums(gs, batch: batch, channels: channels, plane: plane, channel: c, mean: nil)
                let totalGX = channelSums(gs, batch: batch, channels: channels, plane: plane, channel: c, mean: nil, weights: xs)
                // Σ g·(x − mean) = Σ g·x − mean·Σ g, in Double so a large mean does not cancel away the digits.
                let sumG = Float(totalG)
                let sumGNormalised = Float((totalGX - Double(m) * totalG) * Double(invStd))
                gradBias.storage.pointer[c] = sumG
                gradWeight.storage.pointer[c] = sumGNormalised
                let scaleG = gamma[c] * invStd
                for n in 0..<batch {
                    let offset = (n * channels + c) * plane
                    for index in 0..<plane {
                        if training {
                            let normalised = (xs[offset + index] - m) * invStd
                            dx[offset + index] = scaleG / count * (count * gs[offset + index] - sumG - normalised * sumGNormalised)
                        } else {
                            dx[offset + index] = gs[offset + index] * scaleG
                        }
                    }
                }
            }
        }
    }
    return BatchNormGradients(input: gradInput, weight: gradWeight, bias: gradBias)
}

/// `(N, C, H·W)` of a batch-norm backward pass's `[N, C, H, W]` input, after checking that the gradient has its
/// shape and every per-channel parameter is `[C]`.
func batchNormBackwardExtents(op: String, _ gradOutput: Tensor, _ x: Tensor, parameters: [Tensor]) throws -> (Int, Int, Int) {
    guard x.rank == 4, gradOutput.shape == x.shape else {
        throw TensorError.shapeMismatch(op: op, lhs: gradOutput.shape, rhs: x.shape)
    }
    let channels = x.shape[1]
    for parameter in parameters where parameter.shape != [channels] {
        throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: parameter.shape)
    }
    return (x.shape[0], channels, x.shape[2] * x.shape[3])
}

/// `(N, C, H·W)` of a batch-norm forward pass's `[N, C, H, W]` input, after checking that every per-channel tensor is
/// `[C]` and the running statistics (updated in place) are contiguous.
func batchNormForwardExtents(op: String, _ x: Tensor, parameters: [Tensor], runningMean: Tensor,
                             runningVar: Tensor) throws -> (Int, Int, Int) {
    guard x.rank == 4 else { throw TensorError.invalidShape(op: op, shape: x.shape, reason: "expected [N, C, H, W]") }
    let channels = x.shape[1]
    for parameter in parameters + [runningMean, runningVar] where parameter.shape != [channels] {
        throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: parameter.shape)
    }
    guard runningMean.isContiguous, runningVar.isContiguous else {
        throw TensorError.invalidShape(op: op, shape: runningMean.shape, reason: "running statistics must be contiguous")
    }
    return (x.shape[0], channels, x.shape[2] * x.shape[3])
}
