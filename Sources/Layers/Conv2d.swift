import Tensor

/// 2-D convolution without bias (every convolution of the CLIP vision towers is bias-free), weight `[out, in, kh, kw]`.
public struct Conv2d: StatefulModule, Sendable {
    public let weight: Tensor
    public let stride: Int
    public let padding: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0) {
        weight = Tensor(zeros: [outChannels, inChannels, kernelSize, kernelSize])
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight: weight, bias: nil, stride: stride, padding: padding)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(prefix.dotted("weight"), weight)]
    }

    /// Backward of the forward pass on `input`: accumulates dweight into `gradients` and returns dx.
    public func backward(_ gradOutput: Tensor, input: Tensor, into gradients: GradientStore) throws -> Tensor {
        let result = try conv2dBackward(gradOutput, input: input, weight: weight, hasBias: false, stride: stride,
                                        padding: padding)
        try gradients.accumulate(result.weight, for: weight)
        return result.input
    }
}
