/// Average pooling over 2-D planes (PyTorch `nn.AvgPool2d`, count_include_pad, floor mode), forward and backward.

private func poolingGeometry(_ shape: [Int], kernelSize: Int, stride: Int?, padding: Int, op: String) throws -> ConvolutionGeometry {
    guard shape.count == 4 else { throw TensorError.invalidShape(op: op, shape: shape, reason: "expected [N, C, H, W]") }
    guard padding * 2 <= kernelSize else {
        throw TensorError.invalidShape(op: op, shape: shape, reason: "padding \(padding) exceeds half the kernel \(kernelSize)")
    }
    return try ConvolutionGeometry(channels: shape[0] * shape[1], height: shape[2], width: shape[3],
                                   kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride ?? kernelSize,
                                   padding: padding, op: op)
}

/// Mean over k×k windows of x [N, C, H, W] (stride defaults to k); padded positions count as zeros.
public func avgPool2d(_ x: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    let g = try poolingGeometry(x.shape, kernelSize: kernelSize, stride: stride, padding: padding, op: "avgPool2d")
    let input = x.contiguous()
    let output = Tensor(zeros: [x.shape[0], x.shape[1], g.outputHeight, g.outputWidth])
    let divisor = 1 / Float(kernelSize * kernelSize)
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset), destination = output.storage.pointer
        Parallel.forRanges(g.channels, grain: Parallel.grain(elementsPerItem: g.height * g.width)) { range in
            for plane in range {
                let image = source + plane * g.height * g.width, out = destination + plane * g.positions
                for oy in 0..<g.outputHeight {
                    let y0 = oy * g.stride - g.padding
                    for ox in 0..<g.outputWidth {
                        let x0 = ox * g.stride - g.padding
                        var total: Float = 0
                        for iy in max(y0, 0)..<min(y0 + kernelSize, g.height) {
                            for ix in max(x0, 0)..<min(x0 + kernelSize, g.width) { total += image[iy * g.width + ix] }
                        }
                        out[oy * g.outputWidth + ox] = total * divisor
                    }
                }
            }
        }
    }
    return output
}

/// Backward of `avgPool2d`: each upstream value spread evenly (÷k²) over its window.
public func avgPool2dBackward(_ gradOutput: Tensor, inputShape: [Int], kernelSize: Int, stride: Int? = nil,
                              padding: Int = 0) throws -> Tensor {
    let g = try poolingGeometry(inputShape, kernelSize: kernelSize, stride: stride, padding: padding, op: "avgPool2dBackward")
    let expected = [inputShape[0], inputShape[1], g.outputHeight, g.outputWidth]
    guard gradOutput.shape == expected else {
        throw TensorError.shapeMismatch(op: "avgPool2dBackward", lhs: gradOutput.shape, rhs: expected)
    }
    let upstream = gradOutput.contiguous()
    let gradInput = Tensor(zeros: inputShape)
    let divisor = 1 / Float(kernelSize * kernelSize)
    withExtendedLifetime(upstream) {
        let source = UnsafePointer(upstream.storage.pointer + upstream.offset), destination = gradInput.storage.pointer
        Parallel.forRanges(g.channels, grain: Parallel.grain(elementsPerItem: g.height * g.width)) { range in
            for plane in range {
                let image = destination + plane * g.height * g.width, grads = source + plane * g.positions
                for oy in 0..<g.outputHeight {
                    let y0 = oy * g.stride - g.padding
                    for ox in 0..<g.outputWidth {
                        let x0 = ox * g.stride - g.padding
                        let share = grads[oy * g.outputWidth + ox] * divisor
                        for iy in max(y0, 0)..<min(y0 + kernelSize, g.height) {
                            for ix in max(x0, 0)..<min(x0 + kernelSize, g.width) { image[iy * g.width + ix] += share }
                        }
                    }
                }
            }
        }
    }
    return gradInput
}
