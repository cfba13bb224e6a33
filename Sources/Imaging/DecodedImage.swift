/// Pixel layouts of decoded images, named as Pillow names its modes (they decide how the reference resizes).
public enum PixelMode: String, Sendable, CaseIterable {
    /// 1-bit black and white, stored as 0 or 255 per pixel (Pillow "1"; resized with nearest).
    case bilevel = "1"
    /// 8-bit grey.
    case grey = "L"
    /// 8-bit grey + alpha.
    case greyAlpha = "LA"
    /// 8-bit RGB.
    case rgb = "RGB"
    /// 8-bit RGB + straight (non-premultiplied) alpha.
    case rgba = "RGBA"
    /// 8-bit palette indices (Pillow "P"; resized with nearest).
    case palette = "P"
    /// 8-bit CMYK as Pillow holds it (ink amounts, 255 = full ink).
    case cmyk = "CMYK"
    /// 32-bit signed integer grey (Pillow "I"; what a 16-bit grey PNG opens as).
    case int32 = "I"

    /// Interleaved samples per pixel.
    public var channels: Int {
        switch self {
        case .bilevel, .grey, .palette, .int32: return 1
        case .greyAlpha: return 2
        case .rgb: return 3
        case .rgba, .cmyk: return 4
        }
    }
}

/// The container format an image was decoded from.
public enum ImageFormat: String, Sendable {
    case jpeg = "JPEG", png = "PNG", webp = "WEBP", gif = "GIF", bmp = "BMP"
}

/// An image as decoded, in its native mode, before any resizing or conversion.
public struct DecodedImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The pixel layout.
    public let mode: PixelMode
    /// The format it came from.
    public let format: ImageFormat
    /// Row-major interleaved 8-bit samples, `mode.channels` per pixel; empty for `.int32`.
    public var samples: [UInt8]
    /// Row-major values for `.int32`; empty for every other mode.
    public var intSamples: [Int32]
    /// For `.palette`: 256 RGB triples (768 bytes); entries missing from the file are grey (i, i, i) as in Pillow.
    public var palette: [UInt8]
    /// Places where the reference's result is surprising, each naming the file.
    public var warnings: [String]

    /// Creates an image; `palette` defaults to Pillow's grey ramp.
    public init(width: Int, height: Int, mode: PixelMode, format: ImageFormat, samples: [UInt8] = [],
                intSamples: [Int32] = [], palette: [UInt8]? = nil, warnings: [String] = []) {
        self.width = width
        self.height = height
        self.mode = mode
        self.format = format
        self.samples = samples
        self.intSamples = intSamples
        self.palette = palette ?? DecodedImage.greyPalette
        self.warnings = warnings
    }

    /// Pillow's initial palette: entry i is (i, i, i).
    public static let greyPalette: [UInt8] = (0..<768).map { UInt8($0 / 3) }

    /// A 256-entry palette from `count` RGB triples in `entries`, the rest grey.
    static func palette(from entries: [UInt8], count: Int) -> [UInt8] {
        var result = greyPalette
        let n = min(count, 256, entries.count / 3)
        result.replaceSubrange(0..<(3 * n), with: entries[0..<(3 * n)])
        return result
    }
}

/// 8-bit RGB pixels, row-major and interleaved: what the reference holds after `convert("RGB")`.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height * 3` bytes.
    public var pixels: [UInt8]

    /// Wraps `pixels` (which must hold `width * height * 3` bytes).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
