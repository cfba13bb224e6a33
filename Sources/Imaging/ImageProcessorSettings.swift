import Foundation
import Tensor

/// The steps of transformers' CLIP-family image processors (`ChineseCLIPImageProcessor`, `CLIPImageProcessor`), as a
/// Hugging Face `preprocessor_config.json` sets them: convert to RGB, bicubic resize (to a fixed size, or the
/// shortest edge to a length keeping the aspect ratio), center crop, rescale, normalise.
///
/// The arithmetic follows transformers exactly: the long edge is `int(size · long / short)`, the crop's top-left is
/// `(side − crop) // 2` (areas outside the image are zero), rescaling multiplies the uint8 value by the factor in
/// double precision and rounds to fp32, and normalisation subtracts and divides in fp32.
public struct ImageProcessorSettings: Sendable, Equatable {
    /// How the resize step sizes the image.
    public enum Resize: Sendable, Equatable {
        /// No resize.
        case none
        /// Straight to this size, aspect ratio not kept (the Hub's Chinese-CLIP files: 224×224, like the reference).
        case exact(height: Int, width: Int)
        /// The shorter side to this length, the longer one scaled to keep the aspect ratio (the class default).
        case shortestEdge(Int)
    }

    /// A crop's size.
    public struct Size: Sendable, Equatable {
        public var height: Int
        public var width: Int
        public init(height: Int, width: Int) {
            self.height = height
            self.width = width
        }
    }

    public var resize: Resize
    /// The center crop, if any.
    public var centerCrop: Size?
    /// The factor uint8 values are multiplied by (transformers' `rescale_factor`, 1/255), if rescaling.
    public var rescaleFactor: Double?
    /// Per-channel mean and standard deviation, if normalising.
    public var normalization: (mean: [Float], std: [Float])?

    public init(resize: Resize, centerCrop: Size?, rescaleFactor: Double?, normalization: (mean: [Float], std: [Float])?) {
        self.resize = resize
        self.centerCrop = centerCrop
        self.rescaleFactor = rescaleFactor
        self.normalization = normalization
    }

    /// The size every output has, or nil when it depends on the input (a shortest-edge resize without a crop).
    public var outputSize: Size? {
        if let centerCrop { return centerCrop }
        if case let .exact(height, width) = resize { return Size(height: height, width: width) }
        return nil
    }

    /// The resized and cropped RGB pixels of a decoded image.
    public func resizedRGB(_ image: DecodedImage) throws -> RGBImage {
        var current = image.convertedToRGB()
        switch resize {
        case .none: break
        case let .exact(height, width): current = try current.resized(width: width, height: height)
        case let .shortestEdge(side):
            let size = Self.shortestEdgeSize(width: current.width, height: current.height, side: side)
            current = try current.resized(width: size.width, height: size.height)
        }
        let rgb = current.rgbImage
        guard let centerCrop else { return rgb }
        return Self.centerCropped(rgb, to: centerCrop)
    }

    /// transformers' `get_resize_output_image_size(..., default_to_square=False)` for an int size.
    static func shortestEdgeSize(width: Int, height: Int, side: Int) -> Size {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(side * long) / Double(short))
        return width <= height ? Size(height: newLong, width: side) : Size(height: side, width: newLong)
    }

    /// transformers' `center_crop`: top-left at floor((side − crop) / 2), zeros where the crop leaves the image.
    static func centerCropped(_ image: RGBImage, to size: Size) -> RGBImage {
        if image.width == size.width && image.height == size.height { return image }
        let top = floorDivide(image.height - size.height, 2), left = floorDivide(image.width - size.width, 2)
        var pixels = [UInt8](repeating: 0, count: size.width * size.height * 3)
        for y in 0..<size.height {
            let sourceY = y + top
            guard sourceY >= 0, sourceY < image.height else { continue }
            for x in 0..<size.width {
                let sourceX = x + left
                guard sourceX >= 0, sourceX < image.width else { continue }
                let from = (sourceY * image.width + sourceX) * 3, to = (y * size.width + x) * 3
                pixels[to] = image.pixels[from]
                pixels[to + 1] = image.pixels[from + 1]
                pixels[to + 2] = image.pixels[from + 2]
            }
        }
        return RGBImage(width: size.width, height: size.height, pixels: pixels)
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// The CHW fp32 tensor of `image` after rescaling and normalising as transformers does.
    public func normalizedTensor(_ image: RGBImage) throws -> Tensor {
        let plane = image.width * image.height
        var data = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            for i in 0..<plane {
                let byte = image.pixels[3 * i + c]
                var value = rescaleFactor.map { Float(Double(byte) * $0) } ?? Float(byte)
                if let normalization { value = (value - normalization.mean[c]) / normalization.std[c] }
                data[c * plane + i] = value
            }
        }
        return try Tensor(shape: [3, image.height, image.width], data: data)
    }

    public static func == (lhs: ImageProcessorSettings, rhs: ImageProcessorSettings) -> Bool {
        lhs.resize == rhs.resize && lhs.centerCrop == rhs.centerCrop && lhs.rescaleFactor == rhs.rescaleFactor
            && lhs.normalization?.mean == rhs.normalization?.mean && lhs.normalization?.std == rhs.normalization?.std
    }
}
