import Tensor

/// y = x·Wᵀ + b with the weight stored `[out, in]` as PyTorch stores it.
public struct Linear: StatefulModule, Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    /// The reduced-precision product that replaces the fp32 one at inference when installed (`--precision`).
    public let kernelSlot = LinearKernelSlot()

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

    /// x·Wᵀ + b: through the installed kernel if any, else the fp32 GEMM.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        if let kernel = kernelSlot.kernel { return try kernel(x) }
        guard !weight.storage.isReleased else { throw TensorError.releasedValues(op: "Linear") }
        return try linear(x, weight: weight, bias: bias)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(prefix.dotted("weight"), weight)]
        if let bias { entries.append(StateEntry(prefix.dotted("bias"), bias)) }
        return entries
    }

    /// Backward of the forward pass on `input`: accumulates dW (and db) into `gradients` and returns dx.
    public func backward(_ gradOutput: Tensor, input: Tensor, into gradients: GradientStore) throws -> Tensor {
        let result = try linearBackward(gradOutput, input: input, weight: weight, hasBias: bias != nil)
        try gradients.accumulate(result.weight, for: weight)
        if let bias, let gradBias = result.bias { try gradients.accumulate(gradBias, for: bias) }
        return result.input
    }
}
