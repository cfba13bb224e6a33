/// Pillow's `ImageOps` point operations on 8-bit RGB images, each a lookup table per channel (Pillow 9.4
/// arithmetic: integer tables, table values clipped to 0...255 as `Image.point` stores them).
extension RGBImage {
    /// `ImageOps.posterize(image, bits)`: keep the top `bits` bits of every sample (`bits` in 1...8).
    public func posterized(bits: Int) -> RGBImage {
        let mask = UInt8(truncatingIfNeeded: ~((1 << (8 - max(1, min(8, bits)))) - 1))
        return mapped { $0 & mask }
    }

    /// `ImageOps.solarize(image, threshold)`: samples at or above `threshold` become `255 - v`.
    public func solarized(threshold: Int) -> RGBImage {
        mapped { Int($0) < threshold ? $0 : 255 - $0 }
    }

    /// `ImageOps.invert(image)`: `255 - v`.
    public func inverted() -> RGBImage {
        mapped { 255 - $0 }
    }

    /// `ImageOps.autocontrast(image)` (no cutoff): per channel, stretch [lowest, highest] present value to
    /// [0, 255] with `int(v * scale + offset)` in doubles, clipped; a channel with one value is left as is.
    public func autocontrasted() -> RGBImage {
        let tables = channelHistograms().map { histogram -> [UInt8] in
            guard let lo = histogram.firstIndex(where: { $0 != 0 }), let hi = histogram.lastIndex(where: { $0 != 0 }),
                  hi > lo else { return Self.identityTable }
            let scale = 255.0 / Double(hi - lo)
            let offset = -Double(lo) * scale
            return (0..<256).map { UInt8(clamping: Int(Double($0) * scale + offset)) }
        }
        return mapped(tables)
    }

    /// `ImageOps.equalize(image)`: per channel, `step = (count - count of the highest present value) // 255`, and
    /// value i maps to `(step // 2 + pixels below i) // step`, clipped to 255; a channel with one value, or a zero
    /// step, is left as is.
    public func equalized() -> RGBImage {
        let tables = channelHistograms().map { histogram -> [UInt8] in
            let present = histogram.filter { $0 != 0 }
            guard present.count > 1, let last = present.last else { return Self.identityTable }
            let step = (present.reduce(0, +) - last) / 255
            guard step > 0 else { return Self.identityTable }
            var n = step / 2
            var table = [UInt8](repeating: 0, count: 256)
            for i in 0..<256 {
                table[i] = UInt8(clamping: n / step)
                n += histogram[i]
            }
            return table
        }
        return mapped(tables)
    }

    /// Per channel (R, G, B) the count of each value 0...255.
    func channelHistograms() -> [[Int]] {
        var histograms = [[Int]](repeating: [Int](repeating: 0, count: 256), count: 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            histograms[0][Int(pixels[i])] += 1
            histograms[1][Int(pixels[i + 1])] += 1
            histograms[2][Int(pixels[i + 2])] += 1
        }
        return histograms
    }

    static let identityTable: [UInt8] = (0...255).map { UInt8($0) }

    /// Every sample passed through `transform` (one table for all channels).
    func mapped(_ transform: (UInt8) -> UInt8) -> RGBImage {
        let table = (0...255).map { transform(UInt8($0)) }
        return mapped([table, table, table])
    }

    /// Every sample of channel c looked up in `tables[c]`.
    func mapped(_ tables: [[UInt8]]) -> RGBImage {
        var out = pixels
        tables[0].withUnsafeBufferPointer { r in
            tables[1].withUnsafeBufferPointer { g in
                tables[2].withUnsafeBufferPointer { b in
                    for i in stride(from: 0, to: out.count, by: 3) {
                        out[i] = r[Int(out[i])]
                        out[i + 1] = g[Int(out[i + 1])]
                        out[i + 2] = b[Int(out[i + 2])]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
