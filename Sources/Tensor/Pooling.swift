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

/// Calls `body(plane, outputIndex, rows, columns)` for every pooling window: the output position within the
/// plane and the image rows and columns the window covers (clipped to the image), planes split across cores.
@inline(__always)
private func forEachWindow(_ g: ConvolutionGeometry, _ body: (Int, Int, Range<Int>, Range<Int>) -> Void) {
    Parallel.forRanges(g.channels, grain: Parallel.grain(elementsPerItem: g.height * g.width)) { range in
        for plane in range {
            for oy in 0..<g.outputHeight {
                let y0 = oy * g.stride - g.padding
                let rows = max(y0, 0)..<min(y0 + g.kernelHeight, g.height)
                for ox in 0..<g.outputWidth {
                    let x0 = ox * g.stride - g.padding
                    body(plane, oy * g.outputWidth + ox, rows, max(x0, 0)..<min(x0 + g.kernelWidth, g.width))
                }
            }
        }
    }
}

/// Mean over k×k windows of x [N, C, H, W] (stride defaults to k); padded positions count as zeros.
public func avgPool2d(_ x: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    let g = try poolingGeometry(x.shape, kernelSize: kernelSize, stride: stride, padding: padding, op: "avgPool2d")
    let input = x.contiguous()
    let output = Tensor(zeros: [x.shape[0], x.shape[1], g.outputHeight, g.outputWidth])
    // PyTorch sums each window row by row, then divides by k² (count_include_pad).
    let divisor = Float(kernelSize * kernelSize)
    withExtendedLifetime(input) {
        let source = UnsafePointer(input.storage.pointer + input.offset), destination = output.storage.pointer
        guard padding > 0 else {
            unpaddedAvgPool2d(source, g, into: destination, divisor: divisor)
            return
        }
        forEachWindow(g) { plane, position, rows, columns in
            let image = source + plane * g.height * g.width
            var total: Float = 0
            for iy in rows {
                for ix in columns { total += image[iy * g.width + ix] }
            }
            destination[plane * g.positions + position] = total / divisor
        }
    }
    return output
}

/// `avgPool2d` without padding (ResNet's stride-2 pools): every window lies inside the image, so no clipping.
private func unpaddedAvgPool2d(_ source: UnsafePointer<Float>, _ g: ConvolutionGeometry,
                               into destination: UnsafeMutablePointer<Float>, divisor: Float) {
    let (k, stride, width) = (g.kernelHeight, g.stride, g.width)
    Parallel.forRanges(g.channels, grain: Parallel.grain(elementsPerItem: g.height * g.width)) { planes in
        for plane in planes {
            let image = source + plane * g.height * width, out = destination + plane * g.positions
            for oy in 0..<g.outputHeight {
                let windowTop = image + oy * stride * width, outRow = out + oy * g.outputWidth
                for ox in 0..<g.outputWidth {
                    let window = windowTop + ox * stride
                    var total: Float = 0
                    for ky in 0..<k {
                        for kx in 0..<k { total += window[ky * width + kx] }
                    }
                    outRow[ox] = total / divisor
                }
            }
        }
    }
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
        // Windows of one plane are visited by one thread, so overlapping windows never race.
        forEachWindow(g) { plane, position, rows, columns in
            let image = destination + plane * g.height * g.width
            let share = source[plane * g.positions + position] * divisor
            for iy in rows {
                for ix in columns { image[iy * g.width + ix] += share }
            }
        }
    }
    return gradInput
}
