import Tensor

/// Evaluation-mode BatchNorm folded into the convolution before it: with s = γ/√(var + eps),
/// bn(conv(x, W)) = conv(x, W·s) + (β − mean·s), one pass instead of two. The folded tensors are recomputed on
/// every call from the current weights and statistics (training may change them); that costs O(weights), small
/// next to the convolution.
extension Conv2d {
    /// `norm(self(x))` in evaluation mode, then ReLU when `applyingReLU`, equal up to rounding.
    /// - Throws: `TensorError.shapeMismatch` when x, the weight and the norm's channels do not fit.
    public func callAsFunction(_ x: Tensor, normalisedBy norm: BatchNorm2d, applyingReLU: Bool = false) throws -> Tensor {
        let outChannels = weight.shape[0]
        for parameter in [norm.weight, norm.bias, norm.runningMean, norm.runningVar] where parameter.shape != [outChannels] {
            throw TensorError.shapeMismatch(op: "Conv2d + BatchNorm2d", lhs: weight.shape, rhs: parameter.shape)
        }
        let kernel = weight.contiguous(), gamma = norm.weight.contiguous(), beta = norm.bias.contiguous()
        let mean = norm.runningMean.contiguous(), variance = norm.runningVar.contiguous()
        let foldedWeight = Tensor(zeros: weight.shape), foldedBias = Tensor(zeros: [outChannels])
        let rowSize = weight.count / max(outChannels, 1)
        withExtendedLifetime((kernel, gamma, beta, mean, variance)) {
            let source = kernel.storage.pointer + kernel.offset, destination = foldedWeight.storage.pointer
            for o in 0..<outChannels {
                let scale = gamma.storage.pointer[gamma.offset + o]
                    / (variance.storage.pointer[variance.offset + o] + norm.eps).squareRoot()
                for index in o * rowSize..<(o + 1) * rowSize { destination[index] = source[index] * scale }
                foldedBias.storage.pointer[o] = beta.storage.pointer[beta.offset + o]
                    - mean.storage.pointer[mean.offset + o] * scale
            }
        }
        return try conv2d(x, weight: foldedWeight, bias: foldedBias, stride: stride, padding: padding,
                          applyingReLU: applyingReLU)
    }
}
