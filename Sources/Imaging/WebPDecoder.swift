import CWebP

/// Still WebP (lossy, lossless, with alpha) through libwebp, as Pillow opens it: RGBA when the file has
/// alpha, else RGB. Animated WebP is refused.
enum WebPDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let base = try context.start(of: bytes)
        var features = WebPBitstreamFeatures()
        let status = WebPGetFeatures(base, bytes.count, &features)
        switch status {
        case VP8_STATUS_OK: break
        case VP8_STATUS_NOT_ENOUGH_DATA: throw ImagingError.truncated(file: name)
        case VP8_STATUS_UNSUPPORTED_FEATURE: throw ImagingError.unsupported(file: name, reason: "WebP feature")
        default: throw ImagingError.corrupt(file: name, reason: "WebP header (status \(status.rawValue))")
        }
        if features.has_animation != 0 {
            throw ImagingError.unsupported(file: name, reason: "animated WebP")
        }
        let width = Int(features.width), height = Int(features.height)
        let warnings = try context.check(width: width, height: height)
        let mode: PixelMode = features.has_alpha != 0 ? .rgba : .rgb
        var samples = [UInt8](repeating: 0, count: width * height * mode.channels)
        let decoded = samples.withUnsafeMutableBufferPointer { out -> Bool in
            let stride = Int32(width * mode.channels)
            if mode == .rgba {
                return WebPDecodeRGBAInto(base, bytes.count, out.baseAddress, out.count, stride) != nil
            }
            return WebPDecodeRGBInto(base, bytes.count, out.baseAddress, out.count, stride) != nil
        }
        guard decoded else { throw ImagingError.corrupt(file: name, reason: "WebP data does not decode") }
        return DecodedImage(width: width, height: height, mode: mode, format: .webp, samples: samples,
                            warnings: warnings)
    }
}
