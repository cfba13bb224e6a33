/// Pillow's BICUBIC `resize` (always antialiased): a horizontal pass, then a vertical pass, each only when that
/// axis changes size. 8-bit images go through 22-bit fixed-point accumulation and uint8 between the passes;
/// 32-bit integer images (mode I) through doubles rounded half away from zero. The horizontal pass only produces
/// the rows the vertical pass reads, as Pillow does (same result, less work).
enum BicubicResampler {
    /// Resizes row-major interleaved 8-bit samples with `channels` independent channels.
    static func resize(_ samples: [UInt8], width: Int, height: Int, channels: Int,
                       toWidth outWidth: Int, toHeight outHeight: Int) -> [UInt8] {
        separable(samples, width: width, height: height, channels: channels, outWidth: outWidth,
                  outHeight: outHeight, pass: pass8)
    }

    /// Resizes one channel of 32-bit integers (Pillow mode I).
    static func resize(_ samples: [Int32], width: Int, height: Int,
                       toWidth outWidth: Int, toHeight outHeight: Int) -> [Int32] {
        separable(samples, width: width, height: height, channels: 1, outWidth: outWidth,
                  outHeight: outHeight, pass: pass32)
    }

    /// Where one pass reads and writes: `lines` independent lines, each resampled along its own axis.
    struct Layout {
        var lines: Int
        /// Offset of line 0's first sample, and the distance between lines, in the input.
        var inStart: Int, inLineStride: Int
        /// Distance between neighbouring samples along the resampled axis, in the input and the output.
        var inStep: Int, outStep: Int
        /// Distance between lines in the output.
        var outLineStride: Int
        /// Adjacent channels resampled together.
        var channels: Int
        /// Output samples per line.
        var outCount: Int

        var outputSize: Int { lines == 0 ? 0 : (lines - 1) * outLineStride + (outCount - 1) * outStep + channels }
    }

    @inline(__always)
    private static func separable<Sample>(_ samples: [Sample], width: Int, height: Int, channels: Int,
                                          outWidth: Int, outHeight: Int,
                                          pass: ([Sample], Layout, ResampleCoefficients) -> [Sample]) -> [Sample] {
        var current = samples
        var firstRow = 0
        let vertical = outHeight != height ? ResampleCoefficients(inSize: height, outSize: outHeight) : nil
        if outWidth != width {
            let rows = vertical?.usedRange ?? 0..<height
            let layout = Layout(lines: rows.count, inStart: rows.lowerBound * width * channels,
                                inLineStride: width * channels, inStep: channels, outStep: channels,
                                outLineStride: outWidth * channels, channels: channels, outCount: outWidth)
            current = pass(current, layout, ResampleCoefficients(inSize: width, outSize: outWidth))
            firstRow = rows.lowerBound
        }
        guard let vertical else { return current }
        let rowStride = outWidth * channels
        let layout = Layout(lines: outWidth, inStart: -firstRow * rowStride, inLineStride: channels,
                            inStep: rowStride, outStep: rowStride, outLineStride: channels, channels: channels,
                            outCount: outHeight)
        return pass(current, layout, vertical)
    }

    private static func pass8(_ input: [UInt8], _ layout: Layout, _ coefficients: ResampleCoefficients) -> [UInt8] {
        let shift = Int32(ResampleCoefficients.precisionBits)
        let half = Int32(1) << (shift - 1)
        let ceiling = Int32(1) << (shift + 8)
        var output = [UInt8](repeating: 0, count: layout.outputSize)
        walk(layout, coefficients, input, &output, coefficients.fixedWeights) { source, weights, position, taps, step in
            var sum = half
            var at = position
            for j in 0..<taps {
                sum &+= Int32(source[at]) &* weights[j]
                at += step
            }
            return sum <= 0 ? 0 : (sum >= ceiling ? 255 : UInt8(truncatingIfNeeded: sum >> shift))
        }
        return output
    }

    private static func pass32(_ input: [Int32], _ layout: Layout, _ coefficients: ResampleCoefficients) -> [Int32] {
        var output = [Int32](repeating: 0, count: layout.outputSize)
        walk(layout, coefficients, input, &output, coefficients.weights) { source, weights, position, taps, step in
            var sum = 0.0
            var at = position
            for j in 0..<taps {
                sum += Double(source[at]) * weights[j]
                at += step
            }
            let rounded = sum >= 0 ? sum + 0.5 : sum - 0.5
            return Int32(clamping: Int64(rounded))  // |rounded| < 2^33: Int32 inputs, weights summing to 1
        }
        return output
    }

    /// Visits every output sample of `layout`, computing it with `mix(input, weights, firstInput, taps, inStep)`.
    /// Always inlined so that each pass gets `mix` compiled into its loop.
    @inline(__always)
    private static func walk<Sample, Weight>(
        _ layout: Layout, _ coefficients: ResampleCoefficients, _ input: [Sample], _ output: inout [Sample],
        _ weights: [Weight],
        mix: (UnsafeBufferPointer<Sample>, UnsafePointer<Weight>, Int, Int, Int) -> Sample
    ) {
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                weights.withUnsafeBufferPointer { allWeights in
                    guard let weightBase = allWeights.baseAddress else { return }
                    for line in 0..<layout.lines {
                        let inBase = layout.inStart + line * layout.inLineStride
                        let outBase = line * layout.outLineStride
                        for i in 0..<layout.outCount {
                            let k = weightBase + i * coefficients.kernelSize
                            let start = inBase + coefficients.first[i] * layout.inStep
                            for c in 0..<layout.channels {
                                target[outBase + i * layout.outStep + c] =
                                    mix(source, k, start + c, coefficients.count[i], layout.inStep)
                            }
                        }
                    }
                }
            }
        }
    }
}
