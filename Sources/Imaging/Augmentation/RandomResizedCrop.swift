import Foundation

/// A crop rectangle in pixels, as timm's `get_params` returns it (top, left, height, width).
public struct CropBox: Sendable, Equatable {
    public var top: Int, left: Int, height: Int, width: Int

    /// A box with its top-left corner at (`left`, `top`).
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }
}

/// timm's `RandomResizedCropAndInterpolation(S, scale=(0.9, 1.0), ratio=(3/4, 4/3), interpolation='bicubic')`:
/// choose a box covering a random share of the area with a random log-uniform aspect ratio, crop it and resize it
/// to S×S with Pillow's BICUBIC (NEAREST for palette and 1-bit images, premultiplied for RGBA/LA; `resized`).
public struct RandomResizedCrop: Sendable {
    /// The output side S.
    public let size: Int
    /// The range of the crop's area as a share of the image's.
    public let scale: ClosedRange<Double>
    /// The range of the crop's aspect ratio (width / height).
    public let ratio: ClosedRange<Double>

    /// The crop the reference's `--use-augment` builds: scale 0.9...1, ratio 3/4...4/3.
    public init(size: Int, scale: ClosedRange<Double> = 0.9...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.size = size
        self.scale = scale
        self.ratio = ratio
    }

    /// timm's `get_params`: up to 10 tries of (area share, log-uniform aspect), each with two draws, sides rounded
    /// half to even; the first box that fits gets a uniform top and left (two more draws). When none fits: the
    /// centred box of the whole image, narrowed to the nearest allowed aspect ratio.
    public func box<Source: UniformSource>(width: Int, height: Int, using random: inout Source) -> CropBox {
        let area = Double(width * height)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = random.uniform(scale.lowerBound, scale.upperBound) * area
            let aspect = exp(random.uniform(logRatio.0, logRatio.1))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w <= width && h <= height {
                let top = random.integer(0, height - h)
                let left = random.integer(0, width - w)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// `image` cropped to `box` and resized to `size`×`size` in its own mode (Pillow's `crop` then `resize`).
    /// - Throws: `ImagingError.invalidSize` when the box is empty or leaves the image.
    public func apply(_ box: CropBox, to image: DecodedImage) throws -> DecodedImage {
        try image.cropped(to: box).resized(width: size, height: size)
    }
}

extension DecodedImage {
    /// The pixels inside `box` (Pillow's `crop` of a box inside the image), in the same mode.
    /// - Throws: `ImagingError.invalidSize` when the box is empty or not inside the image.
    public func cropped(to box: CropBox) throws -> DecodedImage {
        guard box.width > 0, box.height > 0, box.left >= 0, box.top >= 0,
              box.left + box.width <= width, box.top + box.height <= height else {
            throw ImagingError.invalidSize(width: box.width, height: box.height)
        }
        var result = DecodedImage(width: box.width, height: box.height, mode: mode, format: format, palette: palette,
                                  warnings: warnings)
        if mode == .int32 {
            result.intSamples = Self.rows(of: intSamples, width: width, channels: 1, box: box)
        } else {
            result.samples = Self.rows(of: samples, width: width, channels: mode.channels, box: box)
        }
        return result
    }

    private static func rows<Sample>(of samples: [Sample], width: Int, channels: Int, box: CropBox) -> [Sample] {
        var out: [Sample] = []
        out.reserveCapacity(box.width * box.height * channels)
        for y in box.top..<(box.top + box.height) {
            let start = (y * width + box.left) * channels
            out.append(contentsOf: samples[start..<(start + box.width * channels)])
        }
        return out
    }
}
