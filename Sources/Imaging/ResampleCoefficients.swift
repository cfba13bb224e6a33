import Foundation

/// Pillow's antialiased bicubic (a = -0.5) filter weights for resizing one axis from `inSize` to `outSize`
/// samples: support scaled by the reduction factor, weights normalised per output sample, and the same weights in
/// 22-bit fixed point for 8-bit images. The arithmetic follows Pillow's `precompute_coeffs` step by step so that
/// every double rounds the same way.
struct ResampleCoefficients {
    /// Fractional bits of the fixed-point weights.
    static let precisionBits = 22

    /// Taps stored per output sample (unused taps are zero).
    let kernelSize: Int
    /// First input sample of each output sample.
    let first: [Int]
    /// Number of input samples of each output sample.
    let count: [Int]
    /// `outSize * kernelSize` normalised weights.
    let weights: [Double]
    /// The weights rounded to `precisionBits` fixed point (half away from zero).
    let fixedWeights: [Int32]

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Double](repeating: 0, count: outSize * kernelSize)
        let inverseScale = 1.0 / filterScale
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            let lower = max(Int(center - support + 0.5), 0)
            let upper = min(Int(center + support + 0.5), inSize)
            let taps = upper - lower
            var total = 0.0
            for j in 0..<taps {
                let w = ResampleCoefficients.bicubic((Double(j + lower) - center + 0.5) * inverseScale)
                weights[i * kernelSize + j] = w
                total += w
            }
            if total != 0 {
                for j in 0..<taps { weights[i * kernelSize + j] /= total }
            }
            first[i] = lower
            count[i] = max(taps, 0)
        }
        let unit = Double(1 << ResampleCoefficients.precisionBits)
        self.kernelSize = kernelSize
        self.first = first
        self.count = count
        self.weights = weights
        self.fixedWeights = weights.map { $0 < 0 ? Int32(-0.5 + $0 * unit) : Int32(0.5 + $0 * unit) }
    }

    /// Keys' cubic convolution kernel with a = -0.5, written as Pillow evaluates it.
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = value < 0 ? -value : value
        if x < 1 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Input rows (or columns) any output sample reads: the slice a first pass needs to produce.
    var usedRange: Range<Int> {
        guard let last = first.indices.last else { return 0..<0 }
        return first[0]..<(first[last] + count[last])
    }
}
