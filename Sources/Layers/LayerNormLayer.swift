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
}
