import Foundation

/// The geometric operations of the training augmentation on 8-bit RGB images, with Pillow 9.4's arithmetic.
extension RGBImage {
    /// `transpose(FLIP_LEFT_RIGHT)`.
    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        for y in 0..<height {
            let row = y * width * 3
            for x in 0..<width {
                let from = row + (width - 1 - x) * 3, to = row + x * 3
                out[to] = pixels[from]; out[to + 1] = pixels[from + 1]; out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// `image.rotate(degrees, resample=BICUBIC, fillcolor=fill)`: counter-clockwise about the centre, same size.
    /// As Pillow does: the angle is taken modulo 360; 0 is a copy, 180 (and 90/270 on a square image) a transpose;
    /// otherwise an affine map whose cos/sin entries are rounded to 15 decimals, sampled with `affineWarped`.
    public func rotated(degrees: Double, fill: [UInt8]) -> RGBImage {
        var angle = fmod(degrees, 360)
        if angle != 0 && angle < 0 { angle += 360 }
        if angle == 0 { return self }
        if angle == 180 { return transposedBy180() }
        if (angle == 90 || angle == 270) && width == height { return transposedSquare(counterClockwise: angle == 90) }
        let radians = -(angle * (Double.pi / 180))
        let cosine = Self.roundedTo15Decimals(cos(radians)), sine = Self.roundedTo15Decimals(sin(radians))
        let minusSine = Self.roundedTo15Decimals(-sin(radians))
        var matrix = [cosine, sine, 0.0, minusSine, cosine, 0.0]
        let centreX = Double(width) / 2, centreY = Double(height) / 2
        matrix[2] = matrix[0] * -centreX + matrix[1] * -centreY + matrix[2]
        matrix[5] = matrix[3] * -centreX + matrix[4] * -centreY + matrix[5]
        matrix[2] += centreX
        matrix[5] += centreY
        return affineWarped(matrix, fill: fill)
    }

    /// timm's `shear_x`: `image.transform(size, AFFINE, (1, factor, 0, 0, 1, 0), resample=BICUBIC, fillcolor=fill)`.
    public func shearedX(factor: Double, fill: [UInt8]) -> RGBImage {
        affineWarped([1, factor, 0, 0, 1, 0], fill: fill)
    }

    /// Pillow's `transform(size, AFFINE, matrix, BICUBIC, fillcolor=fill)`: output pixel (x, y) samples the input at
    /// `(a·(x+½) + b·(y+½) + c, d·(x+½) + e·(y+½) + f)`; outside the input it keeps `fill`. Bicubic (a = −1 cubic,
    /// Pillow's `bicubic_filter32RGB`): rows, then the column, in doubles; edge rows and columns repeated; truncated
    /// and clipped to 0...255.
    public func affineWarped(_ matrix: [Double], fill: [UInt8]) -> RGBImage {
        let fillColour = fill.count >= 3 ? Array(fill.prefix(3)) : [0, 0, 0]
        var out = [UInt8](repeating: 0, count: pixels.count)
        for i in stride(from: 0, to: out.count, by: 3) {
            out[i] = fillColour[0]; out[i + 1] = fillColour[1]; out[i + 2] = fillColour[2]
        }
        let a = matrix
        pixels.withUnsafeBufferPointer { source in
            for y in 0..<height {
                let yin = Double(y) + 0.5
                for x in 0..<width {
                    let xin = Double(x) + 0.5
                    let sx = a[0] * xin + a[1] * yin + a[2]
                    let sy = a[3] * xin + a[4] * yin + a[5]
                    guard sx >= 0, sx < Double(width), sy >= 0, sy < Double(height) else { continue }
                    bicubicSample(source, x: sx - 0.5, y: sy - 0.5, into: &out, at: (y * width + x) * 3)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    @inline(__always)
    private func bicubicSample(_ source: UnsafeBufferPointer<UInt8>, x xin: Double, y yin: Double,
                               into out: inout [UInt8], at index: Int) {
        let fx = floor(xin), fy = floor(yin)
        let dx = xin - fx, dy = yin - fy
        let x = Int(fx) - 1, y = Int(fy) - 1
        let c0 = min(max(x, 0), width - 1) * 3, c1 = min(max(x + 1, 0), width - 1) * 3
        let c2 = min(max(x + 2, 0), width - 1) * 3, c3 = min(max(x + 3, 0), width - 1) * 3
        for band in 0..<3 {
            func row(_ r: Int) -> Double {
                let base = r * width * 3 + band
                return Self.cubic(Double(source[base + c0]), Double(source[base + c1]),
                                  Double(source[base + c2]), Double(source[base + c3]), dx)
            }
            let v1 = row(min(max(y, 0), height - 1))
            let v2 = y + 1 >= 0 && y + 1 < height ? row(y + 1) : v1
            let v3 = y + 2 >= 0 && y + 2 < height ? row(y + 2) : v2
            let v4 = y + 3 >= 0 && y + 3 < height ? row(y + 3) : v3
            let v = Self.cubic(v1, v2, v3, v4, dy)
            out[index + band] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
        }
    }

    /// Pillow's `BICUBIC` macro: p1 = v2, p2 = v3 − v1, p3 = 2(v1 − v2) + v3 − v4, p4 = −v1 + v2 − v3 + v4,
    /// value `p1 + d(p2 + d(p3 + d·p4))`.
    @inline(__always)
    static func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ d: Double) -> Double {
        let p1 = v2
        let p2 = -v1 + v3
        let p3 = 2 * (v1 - v2) + v3 - v4
        let p4 = -v1 + v2 - v3 + v4
        return p1 + d * (p2 + d * (p3 + d * p4))
    }

    /// Python's `round(x, 15)`: the decimal rounding is exact (glibc's `%.15f`), then read back correctly rounded.
    static func roundedTo15Decimals(_ x: Double) -> Double {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.15f", $0) }
        guard written > 0 else { return x }
        return strtod(buffer, nil)
    }

    private func transposedBy180() -> RGBImage {
        var out = pixels
        let count = width * height
        for i in 0..<count {
            let from = (count - 1 - i) * 3
            out[i * 3] = pixels[from]; out[i * 3 + 1] = pixels[from + 1]; out[i * 3 + 2] = pixels[from + 2]
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// ROTATE_90 (counter-clockwise) or ROTATE_270 of a square image.
    private func transposedSquare(counterClockwise: Bool) -> RGBImage {
        var out = pixels
        let n = width
        for y in 0..<n {
            for x in 0..<n {
                let (sx, sy) = counterClockwise ? (n - 1 - y, x) : (y, n - 1 - x)
                let from = (sy * n + sx) * 3, to = (y * n + x) * 3
                out[to] = pixels[from]; out[to + 1] = pixels[from + 1]; out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
