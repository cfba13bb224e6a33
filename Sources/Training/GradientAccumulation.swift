import Layers
import Models
import Tensor

/// One micro-batch of an `--accum-freq` step: its inputs, the dropout seed of its gradient pass and the features
/// its forward pass without gradient produced.
struct MicroBatch {
    let images: Tensor
    let tokens: [[Int]]
    let seed: UInt64
    let imageFeatures: Tensor
    let textFeatures: Tensor
}

/// The reference's gradient accumulation (`--accum-freq k > 1`, REFERENCE §6.6 step 4): every batch is forwarded
/// without gradient (and without FLIP masking) and its features kept; on every k-th batch each kept micro-batch is
/// forwarded again with gradient, its features replace its own slot among the kept ones, the loss is taken over the
/// concatenation of all slots (micro-batch order) and back-propagated; then one optimizer step over the summed
/// gradients. Each micro-batch's loss depends on `logit_scale`, so its gradient is the sum of k losses' gradients.
extension TrainingStep {
    /// Micro-batches forwarded since the last accumulated step.
    public var cachedMicroBatches: Int { microBatches.count }

    /// Forwards a micro-batch without gradient (training mode: dropout, BatchNorm batch statistics) and keeps its
    /// features; `dropoutSeed` seeds this pass and, derived from it, the later gradient pass.
    public func cacheMicroBatch(images: Tensor, tokens: [[Int]], dropoutSeed: UInt64) throws {
        let forward = try bufferBroadcast.forwardPass(withGradient: false) {
            try model.forwardTraining(images: images, tokens: tokens, pass: trainingPass(seed: dropoutSeed),
                                      freezeVision: options.freezeVision)
        }
        microBatches.append(MicroBatch(images: images, tokens: tokens, seed: Dropout.mix(dropoutSeed ^ 0x4143_4355),
                                       imageFeatures: forward.imageFeatures, textFeatures: forward.textFeatures))
    }

    /// Forgets the cached micro-batches (the reference starts every epoch with empty caches, so micro-batches
    /// left over at an epoch's end never reach an optimizer step).
    public func discardMicroBatches() { microBatches.removeAll() }

    /// Runs optimizer step `step` over the cached micro-batches and clears them. The reported loss and accuracies
    /// are the last micro-batch's, as the reference logs them. `keptPatches` replaces FLIP's draws per micro-batch.
    public func runAccumulated(step: Int, keptPatches: [[[Int]]]? = nil) throws -> StepResult {
        let learningRate = schedule.learningRate(step: step)
        let last = try accumulatedLossAndGradients(keptPatches: keptPatches)
        optimizer.step(gradients: gradients, learningRate: learningRate)
        clampLogitScale()
        return StepResult(learningRate: learningRate, loss: last.loss, imageToTextAccuracy: last.imageToTextAccuracy,
                          textToImageAccuracy: last.textToImageAccuracy)
    }

    /// The gradient passes of an accumulated step over the cached micro-batches (clearing them), leaving the summed
    /// gradients (averaged over the ranks) in `gradients` without changing any parameter; returns the last
    /// micro-batch's loss.
    public func accumulatedLossAndGradients(keptPatches: [[[Int]]]? = nil) throws -> ContrastiveLossResult {
        guard !microBatches.isEmpty else {
            throw TrainingError.shapeMismatch("an accumulated step needs cached micro-batches")
        }
        defer { microBatches.removeAll() }
        startGradients()
        var offset = 0
        var last: ContrastiveLossResult?
        for (slot, micro) in microBatches.enumerated() {
            let pass = trainingPass(seed: micro.seed)
            let kept = keptPatches.map { $0[slot] } ?? maskedPatches(images: micro.images, seed: micro.seed)
            let forward = try bufferBroadcast.forwardPass(withGradient: true) {
                try model.forwardTraining(images: micro.images, tokens: micro.tokens, pass: pass,
                                          freezeVision: options.freezeVision, keptPatches: kept)
            }
            let loss = try dataParallel.loss(
                imageFeatures: concatenated(microBatches.map(\.imageFeatures), replacing: slot, with: forward.imageFeatures),
                textFeatures: concatenated(microBatches.map(\.textFeatures), replacing: slot, with: forward.textFeatures),
                logitScale: forward.logitScale)
            let rows = offset..<(offset + micro.imageFeatures.shape[0])
            try model.backward(gradImageFeatures: loss.gradImageFeatures.sliced(axis: 0, range: rows).contiguous(),
                               gradTextFeatures: loss.gradTextFeatures.sliced(axis: 0, range: rows).contiguous(),
                               gradLogitScale: loss.gradLogitScale, cache: forward.cache, pass: pass, into: gradients)
            offset = rows.upperBound
            last = loss
        }
        guard let last else { throw TrainingError.shapeMismatch("an accumulated step needs cached micro-batches") }
        // The reference's DDP averages after each micro-batch's backward; averaging is linear, so one average of
        // the summed gradients is the same step with a k-th of the traffic (buckets start during the last backward).
        try averageGradients()
        return last
    }

    /// The rows of `blocks` one after another, with block `slot` replaced by `replacement`.
    private func concatenated(_ blocks: [Tensor], replacing slot: Int, with replacement: Tensor) throws -> Tensor {
        var parts = blocks
        parts[slot] = replacement
        let width = replacement.shape[1]
        guard parts.allSatisfy({ $0.rank == 2 && $0.shape[1] == width }) else {
            throw TrainingError.shapeMismatch("micro-batch features \(parts.map(\.shape)) do not stack")
        }
        let result = Tensor(zeros: [parts.reduce(0) { $0 + $1.shape[0] }, width])
        var destination = result.storage.pointer
        for part in parts {
            part.copyElements(to: destination)
            destination += part.count
        }
        return result
    }
}
