/// Pillow's mode conversions that the reference's pipeline uses, with its integer arithmetic.
enum ModeConversion {
    /// Pillow's `MULDIV255`: a * b / 255 rounded, in integers.
    @inline(__always)
    static func mulDiv255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }

    /// `convert("RGB")` of an image of `mode` whose pixels are `samples` (or `intSamples` for mode I).
    static func rgb(mode: PixelMode, samples: [UInt8], intSamples: [Int32], palette: [UInt8], pixelCount: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixelCount * 3)
        switch mode {
        case .rgb:
            return samples
        case .bilevel, .grey:
            for i in 0..<pixelCount { out[3 * i] = samples[i]; out[3 * i + 1] = samples[i]; out[3 * i + 2] = samples[i] }
        case .greyAlpha:
            for i in 0..<pixelCount {
                let l = samples[2 * i]
                out[3 * i] = l; out[3 * i + 1] = l; out[3 * i + 2] = l
            }
        case .rgba:
            for i in 0..<pixelCount {
                out[3 * i] = samples[4 * i]; out[3 * i + 1] = samples[4 * i + 1]; out[3 * i + 2] = samples[4 * i + 2]
            }
        case .palette:
            for i in 0..<pixelCount {
                let entry = 3 * Int(samples[i])
                out[3 * i] = palette[entry]; out[3 * i + 1] = palette[entry + 1]; out[3 * i + 2] = palette[entry + 2]
            }
        case .cmyk:
            for i in 0..<pixelCount {
                let remaining = 255 - Int(samples[4 * i + 3])
                for c in 0..<3 {
                    out[3 * i + c] = UInt8(clamping: remaining - mulDiv255(Int(samples[4 * i + c]), remaining))
                }
            }
        case .int32:
            for i in 0..<pixelCount {
                let v = UInt8(clamping: intSamples[i])
                out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v
            }
        }
        return out
    }

    /// RGBA → RGBa or LA → La (alpha is the last of `channels` samples): colour times alpha / 255, rounded.
    static func premultiplied(_ samples: [UInt8], channels: Int) -> [UInt8] {
        var out = samples
        for start in stride(from: 0, to: samples.count, by: channels) {
            let alpha = Int(samples[start + channels - 1])
            for c in 0..<(channels - 1) { out[start + c] = UInt8(mulDiv255(Int(samples[start + c]), alpha)) }
        }
        return out
    }

    /// RGBa → RGBA or La → LA: colour * 255 / alpha truncated and clipped; alpha 0 or 255 leaves colour as is.
    static func unpremultiplied(_ samples: [UInt8], channels: Int) -> [UInt8] {
        var out = samples
        for start in stride(from: 0, to: samples.count, by: channels) {
            let alpha = Int(samples[start + channels - 1])
            guard alpha != 0 && alpha != 255 else { continue }
            for c in 0..<(channels - 1) { out[start + c] = UInt8(clamping: 255 * Int(samples[start + c]) / alpha) }
        }
        return out
    }
}
