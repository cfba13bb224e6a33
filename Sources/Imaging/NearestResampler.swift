/// Pillow's NEAREST `resize` (what it forces for palette and 1-bit images): an affine scale whose source
/// coordinate starts at `scale / 2` and grows by `scale` per output pixel, accumulated in doubles and truncated,
/// exactly as Pillow's `ImagingScaleAffine` walks it. Samples that land outside the input stay 0.
enum NearestResampler {
    static func resize(_ samples: [UInt8], width: Int, height: Int, channels: Int,
                       toWidth outWidth: Int, toHeight outHeight: Int) -> [UInt8] {
        let columns = sourceIndices(inSize: width, outSize: outWidth)
        let rows = sourceIndices(inSize: height, outSize: outHeight)
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        for (y, sourceY) in rows.enumerated() {
            guard let sourceY else { continue }
            for (x, sourceX) in columns.enumerated() {
                guard let sourceX else { continue }
                let from = (sourceY * width + sourceX) * channels
                let to = (y * outWidth + x) * channels
                for c in 0..<channels { output[to + c] = samples[from + c] }
            }
        }
        return output
    }

    private static func sourceIndices(inSize: Int, outSize: Int) -> [Int?] {
        let scale = Double(inSize) / Double(outSize)
        var position = scale * 0.5
        var result = [Int?]()
        result.reserveCapacity(outSize)
        for _ in 0..<outSize {
            let index = position < 0 ? -1 : Int(position)
            result.append(index >= 0 && index < inSize ? index : nil)
            position += scale
        }
        return result
    }
}
