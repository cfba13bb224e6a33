/// Batch normalisation whose batch statistics span several processes (PyTorch `nn.SyncBatchNorm` in training
/// mode): each process holds part of the batch, per-channel sums are added across the processes, and every process
/// normalises its part with the statistics of the whole batch.

/// Adds per-channel statistics across the processes that share a batch (an all-reduce sum). Every process must call
/// it the same number of times with the same counts, in the same order.
public protocol ReplicaSum: Sendable {
    /// Replaces `values` on every process by their element-wise sum over the processes.
    func sumAcrossReplicas(_ values: UnsafeMutableBufferPointer<Double>) throws
}

/// `batchNorm2d` in training mode over the batch formed by this process's `x` and the other processes' parts.
/// Two sums cross the processes: (Σx per channel, element count), then Σ(x − mean)² per channel around the global
/// mean (the same two-pass statistics one process computes over the whole batch). The output uses the batch's biased
/// variance; the running statistics are updated with the unbiased one over the global count, as PyTorch does.
/// The parts may differ in batch size.
/// - Throws: the shape errors of `batchNorm2d`, or what `replicas` throws.
public func syncBatchNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                            momentum: Float = 0.1, eps: Float = 1e-5, replicas: any ReplicaSum) throws -> BatchNormResult {
    let (batch, channels, plane) = try batchNormForwardExtents(op: "syncBatchNorm2d", x, parameters: [weight, bias],
                                                               runningMean: runningMean, runningVar: runningVar)
    let input = x.contiguous(), w = weight.contiguous(), b = bias.contiguous()
    let source = UnsafePointer(input.storage.pointer + input.offset)
    let grain = Parallel.grain(elementsPerItem: batch * plane)
    // Σx per channel and the element count, summed over the processes.
    var sums = [Double](repeating: 0, count: channels + 1)
    sums.withUnsafeMutableBufferPointer { totals in
        Parallel.forRanges(channels, grain: grain) { range in
            for c in range { totals[c] = channelSums(source, batch: batch, channels: channels, plane: plane, channel: c, mean: nil) }
        }
    }
    sums[channels] = Double(batch * plane)
    try sums.withUnsafeMutableBufferPointer { try replicas.sumAcrossReplicas($0) }
    let count = sums[channels]
    guard count > 1 else {
        throw TensorError.invalidShape(op: "syncBatchNorm2d", shape: x.shape, reason: "training needs more than one value per channel")
    }
    let means = Tensor(zeros: [channels]), invStds = Tensor(zeros: [channels])
    let mu = means.storage.pointer
    for c in 0..<channels { mu[c] = Float(sums[c] / count) }
    // Σ(x − mean)² per channel around the global mean, summed over the processes.
    var squares = [Double](repeating: 0, count: channels)
    squares.withUnsafeMutableBufferPointer { totals in
        Parallel.forRanges(channels, grain: grain) { range in
            for c in range {
                totals[c] = channelSums(source, batch: batch, channels: channels, plane: plane, channel: c, mean: mu[c])
            }
        }
    }
    try squares.withUnsafeMutableBufferPointer { try replicas.sumAcrossReplicas($0) }
    let runMean = runningMean.storage.pointer + runningMean.offset, runVar = runningVar.storage.pointer + runningVar.offset
    for c in 0..<channels {
        invStds.storage.pointer[c] = 1 / (Float(squares[c] / count) + eps).squareRoot()
        runMean[c] = (1 - momentum) * runMean[c] + momentum * mu[c]
        runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(squares[c] / (count - 1))
    }
    let output = Tensor(zeros: x.shape)
    withExtendedLifetime((input, w, b)) {
        let gamma = w.storage.pointer + w.offset, beta = b.storage.pointer + b.offset, destination = output.storage.pointer
        Parallel.forRanges(channels, grain: grain) { range in
            for c in range {
                let factor = gamma[c] * invStds.storage.pointer[c], shift = beta[c] - mu[c] * factor
                for n in 0..<batch {
                    let offset = (n * channels + c) * plane
                    for index in 0..<plane { destination[offset + index] = source[offset + index] * factor + shift }
                }
            }
        }
    }
    return BatchNormResult(output: output, mean: means, invStd: invStds)
}

/// Backward of `syncBatchNorm2d` given the `mean`/`invStd` it returned. dweight = Σ g·x̂ and dbias = Σ g are this
/// process's own (data parallelism averages them later, as PyTorch's SyncBatchNorm leaves them); dx uses the sums
/// over every process: dx = weight·invStd/M·(M·g − ΣG − x̂·ΣGX̂) with M the global element count. One sum crosses the
/// processes: (Σg, Σg·x̂ per channel, element count).
/// - Throws: shape errors, or what `replicas` throws.
public func syncBatchNorm2dBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, mean: Tensor, invStd: Tensor,
                                    replicas: any ReplicaSum) throws -> BatchNormGradients {
    let (batch, channels, plane) = try batchNormBackwardExtents(op: "syncBatchNorm2dBackward", gradOutput, x,
                                                                parameters: [weight, mean, invStd])
    let input = x.contiguous(), dy = gradOutput.contiguous(), w = weight.contiguous()
    let mu = mean.contiguous(), s = invStd.contiguous()
    let gradInput = Tensor(zeros: x.shape), gradWeight = Tensor(zeros: [channels]), gradBias = Tensor(zeros: [channels])
    let grain = Parallel.grain(elementsPerItem: 2 * batch * plane)
    var sums = [Double](repeating: 0, count: 2 * channels + 1)
    try withExtendedLifetime((input, dy, w, mu, s)) {
        let xs = UnsafePointer(input.storage.pointer + input.offset), gs = UnsafePointer(dy.storage.pointer + dy.offset)
        let gamma = w.storage.pointer + w.offset, means = mu.storage.pointer + mu.offset
        let invStds = s.storage.pointer + s.offset, dx = gradInput.storage.pointer
        sums.withUnsafeMutableBufferPointer { totals in
            Parallel.forRanges(channels, grain: grain) { range in
                for c in range {
                    let totalG = channelSums(gs, batch: batch, channels: channels, plane: plane, channel: c, mean: nil)
                    let totalGX = channelSums(gs, batch: batch, channels: channels, plane: plane, channel: c, mean: nil, weights: xs)
                    // Σ g·(x − mean)·invStd = (Σ g·x − mean·Σ g)·invStd, in Double so a large mean does not cancel.
                    totals[c] = totalG
                    totals[channels + c] = (totalGX - Double(means[c]) * totalG) * Double(invStds[c])
                    gradBias.storage.pointer[c] = Float(totalG)
                    gradWeight.storage.pointer[c] = Float(totals[channels + c])
                }
            }
        }
        sums[2 * channels] = Double(batch * plane)
        try sums.withUnsafeMutableBufferPointer { try replicas.sumAcrossReplicas($0) }
        let count = Float(sums[2 * channels])
        sums.withUnsafeBufferPointer { totals in
            Parallel.forRanges(channels, grain: grain) { range in
                for c in range {
                    let m = means[c], invStd = invStds[c]
                    let sumG = Float(totals[c]), sumGNormalised = Float(totals[channels + c])
                    let scaleG = gamma[c] * invStd
                    for n in 0..<batch {
                        let offset = (n * channels + c) * plane
                        for index in 0..<plane {
                            let normalised = (xs[offset + index] - m) * invStd
                            dx[offset + index] = scaleG / count * (count * gs[offset + index] - sumG - normalised * sumGNormalised)
                        }
                    }
                }
            }
        }
    }
    return BatchNormGradients(input: gradInput, weight: gradWeight, bias: gradBias)
}
