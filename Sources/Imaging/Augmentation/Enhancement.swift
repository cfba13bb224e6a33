/// Pillow's `ImageEnhance` on 8-bit RGB images: a blend between a degenerate image and the image itself,
/// `Image.blend(degenerate, image, factor)` with Pillow 9.4's single-precision arithmetic.
extension RGBImage {
    /// `ImageEnhance.Color(image).enhance(factor)`: the degenerate image is the image's grey (`convert("L")`,
    /// `(19595 R + 38470 G + 7471 B + 2^15) >> 16`) replicated to RGB.
    public func colorEnhanced(factor: Double) -> RGBImage {
        var grey = pixels
        for i in stride(from: 0, to: pixels.count, by: 3) {
            let l = UInt8(truncatingIfNeeded: Self.luma(pixels[i], pixels[i + 1], pixels[i + 2]))
            grey[i] = l; grey[i + 1] = l; grey[i + 2] = l
        }
        return RGBImage(width: width, height: height, pixels: grey).blended(toward: self, alpha: Float(factor))
    }

    /// `ImageEnhance.Contrast(image).enhance(factor)`: the degenerate image is flat grey at the rounded mean of
    /// the image's grey values (`int(mean + 0.5)`).
    public func contrastEnhanced(factor: Double) -> RGBImage {
        var histogram = [Int](repeating: 0, count: 256)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            histogram[Self.luma(pixels[i], pixels[i + 1], pixels[i + 2])] += 1
        }
        var sum = 0.0
        for (value, count) in histogram.enumerated() { sum += Double(value * count) }
        let count = width * height
        let mean = count == 0 ? 0 : UInt8(clamping: Int(sum / Double(count) + 0.5))
        let flat = RGBImage(width: width, height: height, pixels: [UInt8](repeating: mean, count: pixels.count))
        return flat.blended(toward: self, alpha: Float(factor))
    }

    /// `ImageEnhance.Sharpness(image).enhance(factor)`: the degenerate image is `image.filter(SMOOTH)`.
    public func sharpnessEnhanced(factor: Double) -> RGBImage {
        smoothed().blended(toward: self, alpha: Float(factor))
    }

    /// Pillow's `rgb2l`: ITU-R 601-2 luma in 16-bit fixed point, rounded.
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        (Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471 + 0x8000) >> 16
    }

    /// `Image.blend(self, other, alpha)`: `self + alpha * (other - self)` in single precision, truncated; for
    /// alpha outside [0, 1] clipped to 0...255 first. alpha 0 and 1 return copies.
    public func blended(toward other: RGBImage, alpha: Float) -> RGBImage {
        if alpha == 0 { return self }
        if alpha == 1 { return other }
        var out = [UInt8](repeating: 0, count: pixels.count)
        let interpolating = alpha >= 0 && alpha <= 1
        for i in 0..<pixels.count {
            let base = Int(pixels[i])
            let value = Float(base) + alpha * Float(Int(other.pixels[i]) - base)
            if interpolating {
                out[i] = UInt8(value)
            } else {
                out[i] = value <= 0 ? 0 : (value >= 255 ? 255 : UInt8(value))
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
