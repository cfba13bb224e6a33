import Foundation

/// Decodes JPEG, PNG, WebP, GIF (first frame) and BMP into the mode Pillow 9.4 opens them in.
public enum ImageDecoder {
    /// Pillow's `MAX_IMAGE_PIXELS`: above it Pillow warns.
    public static let warningPixels = 89_478_485
    /// Pillow refuses images with more pixels than this (`2 * MAX_IMAGE_PIXELS`) before decoding them.
    public static let maxPixels = 2 * warningPixels

    /// Reads and decodes the file at `url`; errors name its path. Images over `maxPixels` are refused unread.
    public static func decode(contentsOf url: URL, maxPixels: Int = maxPixels) throws -> DecodedImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImagingError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decode(data, name: url.path, maxPixels: maxPixels)
    }

    /// Decodes encoded bytes; `name` labels errors and warnings. Images whose header announces more than
    /// `maxPixels` pixels are refused before any pixel buffer is allocated (a lower limit suits fuzzing).
    public static func decode(_ data: Data, name: String = "<memory>", maxPixels: Int = maxPixels) throws -> DecodedImage {
        guard !data.isEmpty else { throw ImagingError.empty(file: name) }
        guard let format = format(of: data) else { throw ImagingError.unknownFormat(file: name) }
        let context = DecodeContext(name: name, maxPixels: maxPixels)
        return try data.withUnsafeBytes { bytes in
            switch format {
            case .jpeg: return try JPEGDecoder.decode(bytes, context)
            case .png: return try PNGDecoder.decode(bytes, context)
            case .webp: return try WebPDecoder.decode(bytes, context)
            case .gif: return try GIFDecoder.decode(bytes, context)
            case .bmp: return try BMPDecoder.decode(bytes, context)
            }
        }
    }

    /// The format the leading bytes announce (the signatures Pillow's plugins accept), or nil.
    public static func format(of data: Data) -> ImageFormat? {
        let head = [UInt8](data.prefix(16))
        func starts(_ signature: [UInt8]) -> Bool { head.starts(with: signature) }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if head.count >= 12, starts(Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) { return .webp }
        if starts(Array("BM".utf8)) { return .bmp }
        return nil
    }
}

/// What every decoder needs besides the bytes: the file name for errors, and the pixel limit it checks on the
/// header before allocating.
struct DecodeContext {
    let name: String
    let maxPixels: Int

    /// The first byte of the encoded data, for the C decoders.
    func start(of bytes: UnsafeRawBufferPointer) throws -> UnsafePointer<UInt8> {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ImagingError.empty(file: name)
        }
        return base
    }

    /// A NUL-terminated message a C decoder wrote.
    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Refuses empty or over-limit sizes; returns Pillow's warning when it would warn.
    func check(width: Int, height: Int) throws -> [String] {
        guard width > 0, height > 0 else {
            throw ImagingError.corrupt(file: name, reason: "image size \(width)x\(height) is empty")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            throw ImagingError.decompressionBomb(file: name, width: width, height: height, limit: maxPixels)
        }
        if pixels > ImageDecoder.warningPixels {
            return ["\(name): image size \(width)x\(height) exceeds \(ImageDecoder.warningPixels) pixels (Pillow "
                    + "warns of a possible decompression bomb)"]
        }
        return []
    }
}
