import CPNG

/// PNG through libpng, in the modes Pillow 9.4 opens: 1-bit grey → "1", 2/4/8-bit grey → L (scaled),
/// 16-bit grey → I (with a warning: the reference clips it to white), RGB/RGBA (16-bit keep the high byte),
/// palette → P (tRNS ignored for pixels), 8-bit grey+alpha → LA, 16-bit grey+alpha → RGBA.
enum PNGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let base = try context.start(of: bytes)
        var info = cnclip_png_info()
        var message = [CChar](repeating: 0, count: 256)
        var paletteEntries = [UInt8](repeating: 0, count: 768)
        try check(cnclip_png_decode(base, bytes.count, nil, 0, &paletteEntries, &info, &message), message, name)
        var warnings = try context.check(width: Int(info.width), height: Int(info.height))
        let width = Int(info.width), height = Int(info.height)
        let depth = Int(info.bitDepth)
        let mode: PixelMode
        switch (info.colorType, depth) {
        case (0, 1): mode = .bilevel
        case (0, 16): mode = .int32
        case (0, _): mode = .grey
        case (2, _): mode = .rgb
        case (3, _): mode = .palette
        case (4, 8): mode = .greyAlpha
        case (4, 16), (6, _): mode = .rgba
        default: throw ImagingError.unsupported(file: name, reason: "PNG colour type \(info.colorType), depth \(depth)")
        }
        let decodedChannels = info.colorType == 4 ? 2 : mode.channels
        let bytesPerSample = mode == .int32 ? 2 : 1
        var raw = [UInt8](repeating: 0, count: width * height * decodedChannels * bytesPerSample)
        let status = raw.withUnsafeMutableBufferPointer { out in
            cnclip_png_decode(base, bytes.count, out.baseAddress, out.count, &paletteEntries, &info, &message)
        }
        try check(status, message, name)
        switch mode {
        case .int32:
            let values = (0..<(width * height)).map { Int32(raw[2 * $0]) << 8 | Int32(raw[2 * $0 + 1]) }
            warnings.append("\(name): 16-bit greyscale PNG: the reference opens it in 32-bit mode I and its RGB "
                            + "conversion clips every value above 255 to 255, so it comes out almost white; matched")
            return DecodedImage(width: width, height: height, mode: mode, format: .png, intSamples: values,
                                warnings: warnings)
        case .rgba where info.colorType == 4:
            var rgba = [UInt8](repeating: 0, count: width * height * 4)
            for i in 0..<(width * height) {
                let grey = raw[2 * i]
                rgba[4 * i] = grey
                rgba[4 * i + 1] = grey
                rgba[4 * i + 2] = grey
                rgba[4 * i + 3] = raw[2 * i + 1]
            }
            return DecodedImage(width: width, height: height, mode: mode, format: .png, samples: rgba, warnings: warnings)
        case .palette:
            let palette = DecodedImage.palette(from: paletteEntries, count: Int(info.paletteCount))
            return DecodedImage(width: width, height: height, mode: mode, format: .png, samples: raw, palette: palette,
                                warnings: warnings)
        default:
            return DecodedImage(width: width, height: height, mode: mode, format: .png, samples: raw, warnings: warnings)
        }
    }

    private static func check(_ status: Int32, _ message: [CChar], _ name: String) throws {
        guard status != 0 else { return }
        let text = DecodeContext.text(message)
        if text.contains("truncated") { throw ImagingError.truncated(file: name) }
        throw ImagingError.corrupt(file: name, reason: status == 4 ? "PNG rows larger than its header says" : text)
    }
}
