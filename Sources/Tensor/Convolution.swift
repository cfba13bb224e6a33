/// 2-D convolution (PyTorch `nn.Conv2d`, no groups or dilation) as im2col + GEMM, and its backward via
/// GEMMs + col2im.

/// Geometry of one convolution: input planes, kernel, stride, padding, output size.
public struct ConvolutionGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let stride: Int, padding: Int

    /// Output height ⌊(H + 2p − kh)/s⌋ + 1.
    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Output width ⌊(W + 2p − kw)/s⌋ + 1.
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the column matrix: C·kh·kw.
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
    /// Columns of the column matrix: output positions.
    public var positions: Int { outputHeight * outputWidth }

    /// Checks the geometry; throws `TensorError.invalidShape` naming `op` when the kernel does not fit.
    public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int,
                padding: Int, op: String) throws {
        guard stride > 0, padding >= 0, kernelHeight > 0, kernelWidth > 0,
              height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw TensorError.invalidShape(op: op, shape: [channels, height, width],
                                           reason: "kernel \(kernelHeight)x\(kernelWidth), stride \(stride), padding \(padding) do not fit")
        }
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernelHeight, self.kernelWidth, self.stride, self.padding) = (kernelHeight, kernelWidth, stride, padding)
    }

    /// True when im2col is the identity (1×1 kernel, stride 1, no padding).
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
}

/// Unfolds one image [C, H, W] into columns [C·kh·kw, Ho·Wo] (zeros where the kernel hangs over the padding).
/// Each output row is a zero prefix, a run read from one input row (a plain copy at stride 1) and a zero suffix.
/// Row `r` starts at `columns + r·rowStride` (default: packed rows of Ho·Wo).
func im2col(_ image: UnsafePointer<Float>, _ g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>,
            rowStride: Int? = nil) {
    let (oh, ow, positions) = (g.outputHeight, g.outputWidth, g.positions)
    let rowStride = rowStride ?? positions
    let (height, width, stride, padding) = (g.height, g.width, g.stride, g.padding)
    let (kernelHeight, kernelWidth) = (g.kernelHeight, g.kernelWidth)
    Parallel.forRanges(g.patchSize, grain: Parallel.grain(elementsPerItem: positions)) { range in
        for row in range {
            let c = row / (kernelHeight * kernelWidth)
            let ki = row / kernelWidth % kernelHeight, kj = row % kernelWidth
            let plane = image + c * height * width
            let out = columns + row * rowStride
            // Output columns whose input column ix = ox·stride − padding + kj lies inside [0, width).
            let first = min(ow, max(0, (padding - kj + stride - 1) / stride))
            let lastInside = width - 1 + padding - kj
            let last = lastInside < 0 ? first : max(first, min(ow, lastInside / stride + 1))
            for oy in 0..<oh {
                let iy = oy * stride - padding + ki
                let outRow = out + oy * ow
                guard iy >= 0, iy < height else {
                    outRow.update(repeating: 0, count: ow)
                    continue
                }
                if first > 0 { outRow.update(repeating: 0, count: first) }
                let source = plane + iy * width + first * stride - padding + kj
                if stride == 1 {
                    (outRow + first).update(from: source, count: last - first)
                } else {
                    for ox in 0..<(last - first) { outRow[first + ox] = source[ox * stride] }
                }
                if last < ow { (outRow + last).update(repeating: 0, count: ow - last) }
            }
        }
    }
}

/// Folds columns [C·kh·kw, Ho·Wo] back onto an image [C, H, W], adding overlapping contributions
/// (the adjoint of `im2col`). `image` must start zeroed or hold values to accumulate onto.
func col2im(_ columns: UnsafePointer<Float>, _ g: ConvolutionGeometry, into image: UnsafeMutablePointer<Float>) {
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    let kernelArea = g.kernelHeight * g.kernelWidth
    Parallel.forRanges(g.channels, grain: Parallel.grain(elementsPerItem: kernelArea * g.positions)) { range in
        for c in range {
            let plane = image + c * g.height * g.width
            for k in 0..<kernelArea {
                let ki = k / g.kernelWidth, kj = k % g.kernelWidth
                let source = columns + (c * kernelArea + k) * g.positions
                for oy in 0..<oh {
                    let iy = oy * g.stride - g.padding + ki
                    guard iy >= 0, iy < g.height else { continue }
                    for ox in 0..<ow {
                        let ix = ox * g.stride - g.padding + kj
                        if ix >= 0 && ix < g.width { plane[iy * g.width + ix] += source[oy * ow + ox] }
                    }
                }
            }
        }
    }
}

/// `im2col` on a tensor: image [C, H, W] → columns [C·kh·kw, Ho·Wo].
public func im2col(_ image: Tensor, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) throws -> Tensor {
    guard image.rank == 3 else { throw TensorError.invalidShape(op: "im2col", shape: image.shape, reason: "expected [C, H, W]") }
    let g = try ConvolutionGeometry(channels: image.shape[0], height: image.shape[1], width: image.shape[2],
                                    kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride,
                                    padding: padding, op: "im2col")
    let input = image.contiguous()
    let columns = Tensor(zeros: [g.patchSize, g.positions])
    withExtendedLifetime(input) { im2col(input.storage.pointer + input.offset, g, into: columns.storage.pointer) }
    return columns
}

/// `col2im` on a tensor: columns [C·kh·kw, Ho·Wo] → image [C, H, W] (`imageShape`), overlaps summed.
public func col2im(_ columns: Tensor, imageShape: [Int], kernelHeight: Int, kernelWidth: Int, stride: Int = 1,
                   padding: Int = 0) throws -> Tensor {
    guard imageShape.count == 3 else { throw TensorError.invalidShape(op: "col2im", shape: imageShape, reason: "expected [C, H, W]") }
    let g = try ConvolutionGeometry(channels: imageShape[0], height: imageShape[1], width: imageShape[2],
                                    kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride,
                                    padding: padding, op: "col2im")
    guard columns.shape == [g.patchSize, g.positions] else {
        throw TensorError.shapeMismatch(op: "col2im", lhs: columns.shape, rhs: [g.patchSize, g.positions])
    }
    let input = columns.contiguous()
    let image = Tensor(zeros: imageShape)
    withExtendedLifetime(input) { col2im(input.storage.pointer + input.offset, g, into: image.storage.pointer) }
    return image
}

private func convolutionGeometry(_ x: Tensor, _ weight: Tensor, stride: Int, padding: Int, op: String) throws -> ConvolutionGeometry {
    guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[1] else {
        throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: weight.shape)
    }
    return try ConvolutionGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                                   kernelHeight: weight.shape[2], kernelWidth: weight.shape[3], stride: stride,
                                   padding: padding, op: op)
}

/// Convolution of x [N, C, H, W] with weight [O, C, kh, kw] (+ bias [O]) → [N, O, Ho, Wo]; with `applyingReLU`
/// the output is max(·, 0), applied per image while it is still in cache.
/// - Throws: `TensorError.shapeMismatch` naming x and weight (or weight and bias) when they do not fit.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                   applyingReLU: Bool = false) throws -> Tensor {
    let g = try convolutionGeometry(x, weight, stride: stride, padding: padding, op: "conv2d")
    let (batch, outChannels) = (x.shape[0], weight.shape[0])
    if let bias, bias.shape != [outChannels] {
        throw TensorError.shapeMismatch(op: "conv2d bias", lhs: weight.shape, rhs: bias.shape)
    }
    let input = x.contiguous(), kernel = weight.contiguous(), biasValues = bias?.contiguous()
    // Every path below writes every output element.
    let output = Tensor(uninitialized: [batch, outChannels, g.outputHeight, g.outputWidth])
    withExtendedLifetime((input, kernel, biasValues)) {
        let source = UnsafePointer(input.storage.pointer + input.offset)
        let weights = UnsafePointer(kernel.storage.pointer + kernel.offset)
        let shifts = biasValues.map { UnsafePointer($0.storage.pointer + $0.offset) }
        if usesWinograd(g, outChannels: outChannels) {
            winogradConv2d(source, g, batch: batch, kernel: weights, outChannels: outChannels, bias: shifts,
                           applyingReLU: applyingReLU, into: output.storage.pointer)
        } else if batch > 1, g.positions <= batchedConvolutionMaxPositions {
            batchedConv2d(source, g, batch: batch, kernel: weights, outChannels: outChannels, bias: shifts,
                          applyingReLU: applyingReLU, into: output.storage.pointer)
        } else {
            perImageConv2d(source, g, batch: batch, kernel: weights, outChannels: outChannels, bias: shifts,
                           applyingReLU: applyingReLU, into: output.storage.pointer)
        }
    }
    return output
}

/// One GEMM per image, out = W·columns, then bias and ReLU while the image's output is still in cache. With at
/// least one image per thread, whole images run in parallel (each thread its own im2col workspace and a
/// single-threaded GEMM); otherwise images run in turn, each GEMM split across the threads.
private func perImageConv2d(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, batch: Int,
                            kernel: UnsafePointer<Float>, outChannels: Int, bias: UnsafePointer<Float>?,
                            applyingReLU: Bool, into output: UnsafeMutablePointer<Float>) {
    let imageSize = g.channels * g.height * g.width, outputSize = outChannels * g.positions
    let wholeImagesPerThread = batch >= Parallel.threadCount
    let convolve = { (n: Int, workspace: UnsafeMutablePointer<Float>) in
        let image = input + n * imageSize, out = output + n * outputSize
        if !g.isPointwise { im2col(image, g, into: workspace) }
        let columns = g.isPointwise ? image : UnsafePointer(workspace)
        if wholeImagesPerThread {
            gemmOnCallingThread(transposeA: false, transposeB: false, m: outChannels, n: g.positions, k: g.patchSize,
                                a: kernel, lda: g.patchSize, b: columns, ldb: g.positions, beta: 0, c: out,
                                ldc: g.positions)
            addBiasAndReLU(out, channels: 0..<outChannels, positions: g.positions, bias: bias, applyingReLU: applyingReLU)
        } else {
            gemm(transposeA: false, transposeB: false, m: outChannels, n: g.positions, k: g.patchSize,
                 a: kernel, lda: g.patchSize, b: columns, ldb: g.positions, beta: 0, c: out, ldc: g.positions)
            Parallel.forRanges(outChannels, grain: Parallel.grain(elementsPerItem: g.positions)) { channels in
                addBiasAndReLU(out, channels: channels, positions: g.positions, bias: bias, applyingReLU: applyingReLU)
            }
        }
    }
    let workspaceCount = g.isPointwise ? 1 : g.patchSize * g.positions
    guard wholeImagesPerThread else {
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: workspaceCount)
        defer { workspace.deallocate() }
        for n in 0..<batch { convolve(n, workspace) }
        return
    }
    Parallel.forRanges(batch, grain: 1) { images in
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: workspaceCount)
        defer { workspace.deallocate() }
        for n in images { convolve(n, workspace) }
    }
}

/// out[o, p] = out[o, p] + bias[o] (then max(·, 0) with `applyingReLU`) for the given output channels.
private func addBiasAndReLU(_ out: UnsafeMutablePointer<Float>, channels: Range<Int>, positions: Int,
                           bias: UnsafePointer<Float>?, applyingReLU: Bool) {
    guard bias != nil || applyingReLU else { return }
    for o in channels {
        let row = out + o * positions, shift = bias?[o] ?? 0
        for index in 0..<positions {
            let value = row[index] + shift
            row[index] = applyingReLU && value < 0 ? 0 : value
        }
    }
}

/// Output sizes up to this many positions convolve the whole batch in one GEMM (per-image GEMMs this narrow
/// leave BLAS underused; the batch's columns cost patchSize·N·positions floats of workspace).
private let batchedConvolutionMaxPositions = 196

/// The whole batch in one GEMM: columns of every image side by side [C·kh·kw, N·Ho·Wo] (a copy for a pointwise
/// convolution), out = W·columns, then bias and ReLU while scattering back to [N, O, Ho·Wo].
private func batchedConv2d(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, batch: Int,
                           kernel: UnsafePointer<Float>, outChannels: Int, bias: UnsafePointer<Float>?,
                           applyingReLU: Bool, into output: UnsafeMutablePointer<Float>) {
    let positions = g.positions, width = batch * positions, imageSize = g.channels * g.height * g.width
    let columns = UnsafeMutablePointer<Float>.allocate(capacity: g.patchSize * width)
    let product = UnsafeMutablePointer<Float>.allocate(capacity: outChannels * width)
    defer { columns.deallocate(); product.deallocate() }
    for n in 0..<batch {
        let image = input + n * imageSize
        if g.isPointwise {
            for c in 0..<g.channels { (columns + c * width + n * positions).update(from: image + c * positions, count: positions) }
        } else {
            im2col(image, g, into: columns + n * positions, rowStride: width)
        }
    }
    gemm(transposeA: false, transposeB: false, m: outChannels, n: width, k: g.patchSize, a: kernel, lda: g.patchSize,
         b: columns, ldb: width, beta: 0, c: product, ldc: width)
    Parallel.forRanges(outChannels, grain: Parallel.grain(elementsPerItem: width)) { range in
        for o in range {
            let shift = bias?[o] ?? 0
            for n in 0..<batch {
                let source = product + o * width + n * positions, destination = output + (n * outChannels + o) * positions
                for index in 0..<positions {
                    let value = source[index] + shift
                    destination[index] = applyingReLU && value < 0 ? 0 : value
                }
            }
        }
    }
}

/// Gradients of `conv2d`.
public struct Conv2dGradients {
    /// dL/dx [N, C, H, W].
    public let input: Tensor
    /// dL/dweight [O, C, kh, kw].
    public let weight: Tensor
    /// dL/dbias [O], or nil without bias.
    public let bias: Tensor?
}

/// Backward of `conv2d`: per image, dW += dy·colsᵀ, dcols = Wᵀ·dy folded back by col2im; db = Σ dy.
public func conv2dBackward(_ gradOutput: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool, stride: Int = 1,
                           padding: Int = 0) throws -> Conv2dGradients {
    let g = try convolutionGeometry(x, weight, stride: stride, padding: padding, op: "conv2dBackward")
    let (batch, outChannels) = (x.shape[0], weight.shape[0])
    let expected = [batch, outChannels, g.outputHeight, g.outputWidth]
    guard gradOutput.shape == expected else {
        throw TensorError.shapeMismatch(op: "conv2dBackward", lhs: gradOutput.shape, rhs: expected)
    }
    let input = x.contiguous(), kernel = weight.contiguous(), dy = gradOutput.contiguous()
    let gradInput = Tensor(zeros: x.shape), gradWeight = Tensor(zeros: weight.shape)
    let columns = Tensor(zeros: g.isPointwise ? [0] : [g.patchSize, g.positions])
    let gradColumns = Tensor(zeros: g.isPointwise ? [0] : [g.patchSize, g.positions])
    withExtendedLifetime((input, kernel, dy, columns, gradColumns)) {
        let imageSize = g.channels * g.height * g.width, outputSize = outChannels * g.positions
        for n in 0..<batch {
            let image = input.storage.pointer + input.offset + n * imageSize
            let upstream = dy.storage.pointer + dy.offset + n * outputSize
            let gradImage = gradInput.storage.pointer + n * imageSize
            if !g.isPointwise { im2col(image, g, into: columns.storage.pointer) }
            gemm(transposeA: false, transposeB: true, m: outChannels, n: g.patchSize, k: g.positions,
                 a: upstream, lda: g.positions, b: g.isPointwise ? image : columns.storage.pointer, ldb: g.positions,
                 beta: 1, c: gradWeight.storage.pointer, ldc: g.patchSize)
            gemm(transposeA: true, transposeB: false, m: g.patchSize, n: g.positions, k: outChannels,
                 a: kernel.storage.pointer + kernel.offset, lda: g.patchSize, b: upstream, ldb: g.positions,
                 beta: 0, c: g.isPointwise ? gradImage : gradColumns.storage.pointer, ldc: g.positions)
            if !g.isPointwise { col2im(gradColumns.storage.pointer, g, into: gradImage) }
        }
    }
    let gradBias = hasBias ? try sum(sum(dy.reshaped([batch, outChannels, g.positions]), axis: 2), axis: 0) : nil
    return Conv2dGradients(input: gradInput, weight: gradWeight, bias: gradBias)
}
