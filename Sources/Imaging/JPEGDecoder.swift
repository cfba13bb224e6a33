import CJPEG

/// JPEG through libjpeg-turbo with its defaults, as Pillow decodes it: grey → L, YCbCr → RGB,
/// CMYK/YCCK → CMYK with Adobe's inverted polarity undone (Pillow always assumes it).
enum JPEGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let base = try context.start(of: bytes)
        var info = cnclip_jpeg_info()
        var message = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))
        try check(cnclip_jpeg_decode(base, UInt(bytes.count), nil, 0, &info, &message), message, name)
        let warnings = try context.check(width: Int(info.width), height: Int(info.height))
        let mode: PixelMode
        switch info.components {
        case 1: mode = .grey
        case 3: mode = .rgb
        case 4: mode = .cmyk
        default: throw ImagingError.unsupported(file: name, reason: "JPEG with \(info.components) components")
        }
        let width = Int(info.width), height = Int(info.height)
        var samples = [UInt8](repeating: 0, count: width * height * mode.channels)
        let status = samples.withUnsafeMutableBufferPointer { out in
            cnclip_jpeg_decode(base, UInt(bytes.count), out.baseAddress, out.count, &info, &message)
        }
        try check(status, message, name)
        if mode == .cmyk {
            for i in samples.indices { samples[i] = 255 &- samples[i] }
        }
        return DecodedImage(width: width, height: height, mode: mode, format: .jpeg, samples: samples,
                            warnings: warnings)
    }

    private static func check(_ status: Int32, _ message: [CChar], _ name: String) throws {
        switch status {
        case 0: return
        case 2: throw ImagingError.truncated(file: name)
        case 3: throw ImagingError.unsupported(file: name, reason: "JPEG component count")
        default:
            let text = DecodeContext.text(message)
            throw ImagingError.corrupt(file: name, reason: status == 4 ? "JPEG output larger than its header says" : text)
        }
    }
}
