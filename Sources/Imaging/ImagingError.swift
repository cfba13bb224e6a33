/// Why an image could not be read. Every case names the file (or the label the caller gave to in-memory bytes).
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    /// The file holds no bytes.
    case empty(file: String)
    /// The bytes do not start like any format the decoders read (JPEG, PNG, WebP, GIF, BMP).
    case unknownFormat(file: String)
    /// A recognised format in a variant the decoders do not handle (e.g. RLE BMP, animated WebP).
    case unsupported(file: String, reason: String)
    /// The data ends before the image does.
    case truncated(file: String)
    /// The data is damaged; `reason` is the decoder's message.
    case corrupt(file: String, reason: String)
    /// The header announces more pixels than Pillow's limit (`2 * 89478485`); refused before allocating.
    case decompressionBomb(file: String, width: Int, height: Int, limit: Int)
    /// The file could not be read from disk.
    case unreadable(file: String, reason: String)
    /// A requested output size with a side that is not positive.
    case invalidSize(width: Int, height: Int)

    public var description: String {
        switch self {
        case let .empty(file): return "\(file): empty image file"
        case let .unknownFormat(file): return "\(file): cannot identify image file (not JPEG, PNG, WebP, GIF or BMP)"
        case let .unsupported(file, reason): return "\(file): unsupported image: \(reason)"
        case let .truncated(file): return "\(file): image file is truncated"
        case let .corrupt(file, reason): return "\(file): corrupt image: \(reason)"
        case let .decompressionBomb(file, width, height, limit):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            return "\(file): image size \(width)x\(height) (\(overflow ? "too many" : String(pixels)) pixels) exceeds the "
                + "limit of \(limit) pixels, "
                + "could be a decompression bomb"
        case let .unreadable(file, reason): return "\(file): cannot read: \(reason)"
        case let .invalidSize(width, height): return "invalid output image size \(width)x\(height)"
        }
    }
}
