/// Pillow's `ImageFilter.SMOOTH` (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1, scale 13) on 8-bit RGB, as Pillow 9.4's
/// `ImagingFilter3x3` computes it: weights `Float(k) / 13` in single precision, each output
/// `0.5 + row below + row itself + row above` (each row `left·k + centre·k + right·k`, left to right), truncated and
/// clipped; the first and last rows and columns are copied unchanged.
extension RGBImage {
    /// The SMOOTH-filtered image (images under 3×3 are returned unchanged, as Pillow does).
    public func smoothed() -> RGBImage {
        guard width >= 3, height >= 3 else { return self }
        let edge = Float(1) / Float(13), centre = Float(5) / Float(13)
        var out = pixels
        let stride = width * 3
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 1..<(height - 1) {
                    let row = y * stride
                    for x in 1..<(width - 1) {
                        for c in 0..<3 {
                            let at = row + x * 3 + c
                            var sum = Float(0.5)
                            sum += Self.tap(source, at + stride, edge, edge, edge)
                            sum += Self.tap(source, at, edge, centre, edge)
                            sum += Self.tap(source, at - stride, edge, edge, edge)
                            target[at] = sum <= 0 ? 0 : (sum >= 255 ? 255 : UInt8(sum))
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    @inline(__always)
    private static func tap(_ source: UnsafeBufferPointer<UInt8>, _ at: Int, _ k0: Float, _ k1: Float, _ k2: Float) -> Float {
        let left = Float(source[at - 3]) * k0
        let middle = Float(source[at]) * k1
        let right = Float(source[at + 3]) * k2
        return left + middle + right
    }
}
