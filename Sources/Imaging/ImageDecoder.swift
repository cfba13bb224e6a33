import Foundation

/// Decodes JPEG, PNG, WebP, GIF (first frame) and BMP into the mode Pillow 9.4 opens them in.
public enum ImageDecoder {
    /// Pillow's `MAX_IMAGE_PIXELS`: above it Pillow warns.
    public static let warningPixels = 89_478_485
    /// Pillow refuses images with more pixels than this (`2 * MAX_IMAGE_PIXELS`) before decoding them.
    public static let maxPixels = 2 * warningPixels

    /// Reads and decodes the file at `url`; errors name its path.
    public static func decode(contentsOf url: URL) throws -> DecodedImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImagingError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decode(data, name: url.path)
    }

    /// Decodes encoded bytes; `name` labels errors and warnings.
    public static func decode(_ data: Data, name: String = "<memory>") throws -> DecodedImage {
        guard !data.isEmpty else { throw ImagingError.empty(file: name) }
        guard let format = format(of: data) else { throw ImagingError.unknownFormat(file: name) }
        return try data.withUnsafeBytes { bytes in
            switch format {
            case .jpeg: return try JPEGDecoder.decode(bytes, name: name)
            case .png: return try PNGDecoder.decode(bytes, name: name)
            case .webp: return try WebPDecoder.decode(bytes, name: name)
            case .gif: return try GIFDecoder.decode(bytes, name: name)
            case .bmp: return try BMPDecoder.decode(bytes, name: name)
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

    /// Refuses empty or over-limit sizes before any pixel buffer exists; returns Pillow's warning when one applies.
    static func checkSize(width: Int, height: Int, name: String) throws -> [String] {
        guard width > 0, height > 0 else {
            throw ImagingError.corrupt(file: name, reason: "image size \(width)x\(height) is empty")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            throw ImagingError.decompressionBomb(file: name, width: width, height: height, limit: maxPixels)
        }
        if pixels > warningPixels {
            return ["\(name): image size \(width)x\(height) exceeds \(warningPixels) pixels (Pillow warns of a possible "
                    + "decompression bomb)"]
        }
        return []
    }
}
