import Tensor

/// `nn.BatchNorm2d` (eps 1e-5, momentum 0.1) with its running statistics.
public struct BatchNorm2d: StatefulModule, Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// PyTorch's int64 `num_batches_tracked` buffer, kept as a one-element fp32 tensor (exact below 2²⁴).
    public let numBatchesTracked: Tensor
    public let eps: Float = 1e-5
    public let momentum: Float = 0.1

    /// Weight 1, bias 0, running mean 0, running variance 1, as PyTorch initialises them.
    public init(channels: Int) {
        weight = Tensor(zeros: [channels])
        bias = Tensor(zeros: [channels])
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(zeros: [channels])
        numBatchesTracked = Tensor(zeros: [])
        weight.storage.pointer.update(repeating: 1, count: channels)
        runningVar.storage.pointer.update(repeating: 1, count: channels)
    }

    /// Evaluation-mode normalisation with the running statistics.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try batchNorm2d(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                        training: false, momentum: momentum, eps: eps).output
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(prefix.dotted("weight"), weight), StateEntry(prefix.dotted("bias"), bias),
         StateEntry(prefix.dotted("running_mean"), runningMean, kind: .buffer),
         StateEntry(prefix.dotted("running_var"), runningVar, kind: .buffer),
         StateEntry(prefix.dotted("num_batches_tracked"), numBatchesTracked, kind: .integerBuffer)]
    }

    /// What the backward pass needs from a forward pass.
    public struct Cache: Sendable {
        public let input: Tensor
        public let mean: Tensor
        public let invStd: Tensor
        public let training: Bool
        /// The processes whose batch statistics this pass shared (SyncBatchNorm), nil for this process's batch alone.
        public let replicas: (any ReplicaSum)?
    }

    /// The forward pass in training mode (batch statistics; running statistics and `num_batches_tracked` updated
    /// in place, as PyTorch does) or evaluation mode (running statistics; a frozen tower's BatchNorm). With
    /// `replicas` in training mode the batch statistics span every process's part of the batch (`nn.SyncBatchNorm`).
    public func forwardTraining(_ x: Tensor, training: Bool,
                                replicas: (any ReplicaSum)? = nil) throws -> (output: Tensor, cache: Cache) {
        let result: BatchNormResult
        if training, let replicas {
            result = try syncBatchNorm2d(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                         momentum: momentum, eps: eps, replicas: replicas)
        } else {
            result = try batchNorm2d(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                     training: training, momentum: momentum, eps: eps)
        }
        if training { numBatchesTracked.storage.pointer[numBatchesTracked.offset] += 1 }
        return (result.output, Cache(input: x, mean: result.mean, invStd: result.invStd, training: training,
                                     replicas: training ? replicas : nil))
    }

    /// Accumulates dweight and dbias into `gradients` and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let result = if let replicas = cache.replicas {
            try syncBatchNorm2dBackward(gradOutput, input: cache.input, weight: weight, mean: cache.mean,
                                        invStd: cache.invStd, replicas: replicas)
        } else {
            try batchNorm2dBackward(gradOutput, input: cache.input, weight: weight, mean: cache.mean,
                                    invStd: cache.invStd, training: cache.training)
        }
        try gradients.accumulate(result.weight, for: weight)
        try gradients.accumulate(result.bias, for: bias)
        return result.input
    }
}
