// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015): each 2×2 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for the 4×4 input
// tile d, so the channel sums become 16 independent GEMMs [O×C]·[C×tiles] with 2.25× fewer multiplications
// than im2col. Bᵀ and Aᵀ hold only 0 and ±1 and G only 0, ±½ and 1, so the transforms add little rounding.

/// Whether `conv2d` takes the Winograd path: 3×3 kernel, stride 1, and enough channels on both sides that the
/// 16 GEMMs are not dominated by the transforms.
func usesWinograd(_ g: ConvolutionGeometry, outChannels: Int) -> Bool {
    g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && g.channels >= winogradMinimumChannels
        && outChannels >= winogradMinimumChannels && g.outputHeight >= 2 && g.outputWidth >= 2
}

/// Fewest input and output channels for the Winograd path.
let winogradMinimumChannels = 16

/// Transformed inputs (and GEMM outputs) per batch chunk, in floats: chunks of images keep both buffers near
/// the last-level cache.
private let winogradChunkFloats = 2 << 20

/// Tile layout of one convolution: ⌈Ho/2⌉ × ⌈Wo/2⌉ tiles per image.
private struct WinogradTiles {
    let geometry: ConvolutionGeometry
    let rows: Int, columns: Int
    var perImage: Int { rows * columns }

    init(_ g: ConvolutionGeometry) {
        geometry = g
        rows = (g.outputHeight + 1) / 2
        columns = (g.outputWidth + 1) / 2
    }
}

/// conv2d of `batch` images [C, H, W] with a 3×3 kernel [O, C, 3, 3] at stride 1 (+ bias, then ReLU), written to
/// `output` [batch, O, Ho, Wo]. Equal to the direct convolution up to rounding.
func winogradConv2d(_ input: UnsafePointer<Float>, _ g: ConvolutionGeometry, batch: Int,
                    kernel: UnsafePointer<Float>, outChannels: Int, bias: UnsafePointer<Float>?,
                    applyingReLU: Bool, into output: UnsafeMutablePointer<Float>) {
    let tiles = WinogradTiles(g)
    let channels = g.channels
    let filters = WinogradBuffer(count: 16 * outChannels * channels)
    defer { filters.release() }
    transformFilters(kernel, outChannels: outChannels, channels: channels, into: filters.pointer)

    let perImage = 16 * max(channels, outChannels) * tiles.perImage
    let imagesPerChunk = max(1, min(batch, winogradChunkFloats / max(perImage, 1)))
    let transformed = WinogradBuffer(count: perImage * imagesPerChunk)
    let products = WinogradBuffer(count: perImage * imagesPerChunk)
    defer {
        transformed.release()
        products.release()
    }
    let imageSize = channels * g.height * g.width, outputSize = outChannels * g.positions
    for first in stride(from: 0, to: batch, by: imagesPerChunk) {
        let images = min(imagesPerChunk, batch - first)
        let tileCount = images * tiles.perImage
        transformInputs(input + first * imageSize, tiles, images: images, into: transformed.pointer)
        let (u, v, m) = (UnsafePointer(filters.pointer), UnsafePointer(transformed.pointer), products.pointer)
        Parallel.forRanges(16, grain: 1) { positions in
            for position in positions {
                gemmOnCallingThread(transposeA: false, transposeB: false, m: outChannels, n: tileCount, k: channels,
                                    a: u + position * outChannels * channels, lda: channels,
                                    b: v + position * channels * tileCount, ldb: tileCount, beta: 0,
                                    c: m + position * outChannels * tileCount, ldc: tileCount)
            }
        }
        transformOutputs(products.pointer, tiles, images: images, outChannels: outChannels, bias: bias,
                         applyingReLU: applyingReLU, into: output + first * outputSize)
    }
}

/// A scratch buffer from `BufferPool` (recycled between calls, so no fresh pages each convolution).
private struct WinogradBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let bytes: Int

    init(count: Int) {
        bytes = max(count, 1) * MemoryLayout<Float>.stride
        pointer = BufferPool.allocate(bytes: bytes).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func release() { BufferPool.release(UnsafeMutableRawPointer(pointer), bytes: bytes) }
}

/// U[ξ][o][c] = (G g Gᵀ)[ξ] for every 3×3 filter g = kernel[o, c], ξ = 4·row + column of the 4×4 result,
/// with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]. Per output channel the nine taps are first laid out
/// tap-major, so every step below runs over the input channels contiguously.
private func transformFilters(_ kernel: UnsafePointer<Float>, outChannels: Int, channels: Int,
                              into filters: UnsafeMutablePointer<Float>) {
    let plane = outChannels * channels
    Parallel.forRanges(outChannels, grain: Parallel.grain(elementsPerItem: 16 * channels)) { range in
        // taps[k][c] = g[c][k] for k < 9, then the four rows of G·g (three taps each) at rows 9 … 20.
        let taps = UnsafeMutablePointer<Float>.allocate(capacity: 21 * channels)
        defer { taps.deallocate() }
        let half: Float = 0.5
        for o in range {
            let source = kernel + o * channels * 9
            for c in 0..<channels {
                for k in 0..<9 { taps[k * channels + c] = source[c * 9 + k] }
            }
            let left = taps + 9 * channels
            for j in 0..<3 {
                let top = taps + j * channels, middle = taps + (3 + j) * channels, bottom = taps + (6 + j) * channels
                let row0 = left + j * channels, row1 = left + (3 + j) * channels
                let row2 = left + (6 + j) * channels, row3 = left + (9 + j) * channels
                for c in 0..<channels {
                    row0[c] = top[c]
                    row1[c] = half * (top[c] + middle[c] + bottom[c])
                    row2[c] = half * (top[c] - middle[c] + bottom[c])
                    row3[c] = bottom[c]
                }
            }
            for i in 0..<4 {
                let a = left + (3 * i) * channels, b = left + (3 * i + 1) * channels, d = left + (3 * i + 2) * channels
                let out0 = filters + (4 * i) * plane + o * channels
                let out1 = out0 + plane, out2 = out1 + plane, out3 = out2 + plane
                for c in 0..<channels {
                    out0[c] = a[c]
                    out1[c] = half * (a[c] + b[c] + d[c])
                    out2[c] = half * (a[c] - b[c] + d[c])
                    out3[c] = d[c]
                }
            }
        }
    }
}

/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 4×4 input tile d of every channel c and tile t (image-major, then tile row,
/// then tile column), zeros outside the image; Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]].
/// Rows are combined first over whole zero-padded input rows, then columns tile by tile.
private func transformInputs(_ input: UnsafePointer<Float>, _ tiles: WinogradTiles, images: Int,
                             into transformed: UnsafeMutablePointer<Float>) {
    let g = tiles.geometry
    let tileCount = images * tiles.perImage, plane = g.channels * tileCount
    let span = 2 * tiles.columns + 2
    let leading = min(span, g.padding), copied = max(0, min(g.width, span - leading))
    Parallel.forRanges(g.channels, grain: 1) { range in
        // A tile row's four input rows, zero-padded to `span` columns, then their four row combinations.
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 8 * span)
        defer { rows.deallocate() }
        let combined = rows + 4 * span
        for c in range {
            for image in 0..<images {
                let source = input + (image * g.channels + c) * g.height * g.width
                for tileRow in 0..<tiles.rows {
                    for r in 0..<4 {
                        let y = 2 * tileRow + r - g.padding, row = rows + r * span
                        guard y >= 0, y < g.height else {
                            row.update(repeating: 0, count: span)
                            continue
                        }
                        row.update(repeating: 0, count: leading)
                        (row + leading).update(from: source + y * g.width, count: copied)
                        (row + leading + copied).update(repeating: 0, count: span - leading - copied)
                    }
                    let d0 = rows, d1 = rows + span, d2 = rows + 2 * span, d3 = rows + 3 * span
                    for x in 0..<span {
                        combined[x] = d0[x] - d2[x]
                        combined[span + x] = d1[x] + d2[x]
                        combined[2 * span + x] = d2[x] - d1[x]
                        combined[3 * span + x] = d1[x] - d3[x]
                    }
                    let tileBase = image * tiles.perImage + tileRow * tiles.columns
                    for i in 0..<4 {
                        let row = combined + i * span
                        let out0 = transformed + (4 * i) * plane + c * tileCount + tileBase
                        let out1 = out0 + plane, out2 = out1 + plane, out3 = out2 + plane
                        for tile in 0..<tiles.columns {
                            let a = row[2 * tile], b = row[2 * tile + 1], d = row[2 * tile + 2], e = row[2 * tile + 3]
                            out0[tile] = a - d
                            out1[tile] = b + d
                            out2[tile] = d - b
                            out3[tile] = b - e
                        }
                    }
                }
            }
        }
    }
}

/// out[o] = Aᵀ M A for each tile (Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]), plus bias, then ReLU, cropped to the
/// output size and written to [images, O, Ho, Wo].
private func transformOutputs(_ products: UnsafePointer<Float>, _ tiles: WinogradTiles, images: Int, outChannels: Int,
                              bias: UnsafePointer<Float>?, applyingReLU: Bool, into output: UnsafeMutablePointer<Float>) {
    let g = tiles.geometry
    let (height, width) = (g.outputHeight, g.outputWidth)
    let tileCount = images * tiles.perImage, plane = outChannels * tileCount
    let columns = tiles.columns
    Parallel.forRanges(outChannels, grain: 1) { range in
        // Per tile row: s_j = M0j + M1j + M2j and t_j = M1j − M2j − M3j over the tile columns (8 runs), then one
        // output row of 2·columns values (cropped to Wo when written).
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 10 * columns)
        defer { scratch.deallocate() }
        let line = scratch + 8 * columns
        for o in range {
            let shift = bias?[o] ?? 0
            for image in 0..<images {
                let destination = output + (image * outChannels + o) * height * width
                for tileRow in 0..<tiles.rows {
                    let base = products + o * tileCount + image * tiles.perImage + tileRow * columns
                    for j in 0..<4 {
                        let m0 = base + j * plane, m1 = base + (4 + j) * plane
                        let m2 = base + (8 + j) * plane, m3 = base + (12 + j) * plane
                        let s = scratch + j * columns, t = scratch + (4 + j) * columns
                        for tile in 0..<columns {
                            s[tile] = m0[tile] + m1[tile] + m2[tile]
                            t[tile] = m1[tile] - m2[tile] - m3[tile]
                        }
                    }
                    for half in 0..<2 where 2 * tileRow + half < height {
                        let r0 = scratch + 4 * half * columns, r1 = r0 + columns, r2 = r1 + columns, r3 = r2 + columns
                        for tile in 0..<columns {
                            line[2 * tile] = r0[tile] + r1[tile] + r2[tile] + shift
                            line[2 * tile + 1] = r1[tile] - r2[tile] - r3[tile] + shift
                        }
                        let out = destination + (2 * tileRow + half) * width
                        if applyingReLU {
                            for x in 0..<width { out[x] = line[x] < 0 ? 0 : line[x] }
                        } else {
                            out.update(from: line, count: width)
                        }
                    }
                }
            }
        }
    }
}

/// Multiply–adds `conv2d` performs for input [N, C, H, W] and weight [O, C, kh, kw]: 16·O·C per 2×2 tile on the
/// Winograd path, O·C·kh·kw per output position otherwise (benchmarks report GFLOP/s from this).
/// - Throws: `TensorError` when the shapes do not fit, as `conv2d` would.
public func conv2dMultiplyAdds(inputShape: [Int], weightShape: [Int], stride: Int, padding: Int) throws -> Int {
    guard inputShape.count == 4, weightShape.count == 4, inputShape[1] == weightShape[1] else {
        throw TensorError.shapeMismatch(op: "conv2dMultiplyAdds", lhs: inputShape, rhs: weightShape)
    }
    let g = try ConvolutionGeometry(channels: inputShape[1], height: inputShape[2], width: inputShape[3],
                                    kernelHeight: weightShape[2], kernelWidth: weightShape[3], stride: stride,
                                    padding: padding, op: "conv2dMultiplyAdds")
    let (batch, outChannels) = (inputShape[0], weightShape[0])
    guard usesWinograd(g, outChannels: outChannels) else { return batch * outChannels * g.patchSize * g.positions }
    return batch * 16 * outChannels * g.channels * WinogradTiles(g).perImage
}
