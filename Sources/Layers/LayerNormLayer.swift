import Tensor

/// Layer normalisation over the last axis with learned scale and shift.
public struct LayerNorm: StatefulModule, Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    /// Scale 1 and shift 0, as PyTorch initialises them.
    public init(features: Int, eps: Float) {
        weight = Tensor(zeros: [features])
        bias = Tensor(zeros: [features])
        weight.storage.pointer.update(repeating: 1, count: features)
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layerNorm(x, weight: weight, bias: bias, eps: eps).output
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(prefix.dotted("weight"), weight), StateEntry(prefix.dotted("bias"), bias)]
    }

    /// What the backward pass needs from a training-mode forward pass.
    public struct Cache: Sendable {
        public let input: Tensor
        public let mean: Tensor
        public let rstd: Tensor
    }

    /// The forward pass, keeping the statistics its backward needs.
    public func forwardTraining(_ x: Tensor) throws -> (output: Tensor, cache: Cache) {
        let result = try layerNorm(x, weight: weight, bias: bias, eps: eps)
        return (result.output, Cache(input: x, mean: result.mean, rstd: result.rstd))
    }

    /// Accumulates dweight and dbias into `gradients` and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let result = try layerNormBackward(gradOutput, input: cache.input, weight: weight, mean: cache.mean, rstd: cache.rstd)
        try gradients.accumulate(result.weight, for: weight)
        try gradients.accumulate(result.bias, for: bias)
        return result.input
    }
}
