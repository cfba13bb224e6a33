import Tensor

/// y = x·Wᵀ + b with the weight stored `[out, in]` as PyTorch stores it.
public struct Linear: StatefulModule, Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    /// A zero-initialised layer, ready to receive weights.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        weight = Tensor(zeros: [outFeatures, inFeatures])
        self.bias = bias ? Tensor(zeros: [outFeatures]) : nil
    }

    /// A layer over existing tensors (views into a packed weight included).
    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try linear(x, weight: weight, bias: bias)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(prefix.dotted("weight"), weight)]
        if let bias { entries.append(StateEntry(prefix.dotted("bias"), bias)) }
        return entries
    }
}
