import Foundation
import Tensor

/// Where the RGB conversion happens relative to the resize; the reference uses both.
public enum ConversionOrder: String, Sendable, CaseIterable {
    /// cn_clip's `image_transform` on the opened image (LMDB datasets, evaluation, training without augmentation):
    /// resize in the native mode, then convert to RGB.
    case resizeThenConvert
    /// The zero-shot path (torchvision's folder loader converts on open): convert to RGB, then resize.
    case convertThenResize
}

/// The result of preprocessing one image.
public struct PreprocessedImage: Sendable {
    /// The model input: [3, R, R] fp32, normalised with the CLIP mean and std.
    public let tensor: Tensor
    /// The resized uint8 RGB pixels the tensor was made from.
    public let pixels: RGBImage
    /// Surprising-but-matched behaviours of the reference, each naming the file.
    public let warnings: [String]
}

/// The reference's evaluation transform `image_transform(R)`: decode, bicubic resize straight to R×R (no crop,
/// aspect ratio not kept), RGB conversion (in either order), scale to [0, 1], normalise per channel.
public struct ImagePreprocessor: Sendable {
    /// The square side R (224, or 336 for ViT-L-14-336).
    public let resolution: Int
    /// Per-channel mean subtracted after scaling to [0, 1].
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// Per-channel standard deviation divided by after subtracting the mean.
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// transformers' image-processor steps, when they replace the reference's transform (a Hugging Face model
    /// directory's `preprocessor_config.json`); nil for the reference's transform.
    public let settings: ImageProcessorSettings?

    /// A preprocessor for `resolution`×`resolution` inputs.
    public init(resolution: Int) {
        self.resolution = resolution
        settings = nil
    }

    /// A preprocessor running transformers' steps `settings`, whose output must be `resolution`×`resolution`.
    /// - Throws: `ImagingError.invalidSize` when the steps make another size, or sizes that vary with the input.
    public init(settings: ImageProcessorSettings, resolution: Int) throws {
        guard let size = settings.outputSize, size.width == resolution, size.height == resolution else {
            let size = settings.outputSize
            throw ImagingError.invalidSize(width: size?.width ?? -1, height: size?.height ?? -1)
        }
        self.resolution = resolution
        self.settings = settings
    }

    /// The resized uint8 RGB pixels of a decoded image. With transformers' `settings` the image is always
    /// converted to RGB first, as their processors do, whatever `order` says.
    public func resizedRGB(_ image: DecodedImage, order: ConversionOrder = .resizeThenConvert) throws -> RGBImage {
        if let settings { return try settings.resizedRGB(image) }
        switch order {
        case .resizeThenConvert:
            return try image.resized(width: resolution, height: resolution).rgbImage
        case .convertThenResize:
            return try image.convertedToRGB().resized(width: resolution, height: resolution).rgbImage
        }
    }

    /// Preprocesses encoded image bytes (JPEG, PNG, WebP, GIF, BMP); `name` labels errors and warnings.
    public func tensor(fromEncoded data: Data, name: String = "<memory>",
                       order: ConversionOrder = .resizeThenConvert) throws -> PreprocessedImage {
        try preprocess(ImageDecoder.decode(data, name: name), order: order)
    }

    /// Preprocesses the image file at `url`.
    public func tensor(contentsOf url: URL, order: ConversionOrder = .resizeThenConvert) throws -> PreprocessedImage {
        try preprocess(ImageDecoder.decode(contentsOf: url), order: order)
    }

    /// Preprocesses an already decoded image.
    public func preprocess(_ image: DecodedImage, order: ConversionOrder = .resizeThenConvert) throws -> PreprocessedImage {
        let pixels = try resizedRGB(image, order: order)
        let tensor = try settings?.normalizedTensor(pixels) ?? Self.normalizedTensor(pixels)
        return PreprocessedImage(tensor: tensor, pixels: pixels, warnings: image.warnings)
    }

    /// torchvision's `ToTensor` then `Normalize` in fp32: CHW, `(v / 255 - mean[c]) / std[c]`.
    public static func normalizedTensor(_ image: RGBImage) throws -> Tensor {
        let plane = image.width * image.height
        var data = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            let mean = Self.mean[c], std = Self.std[c]
            for i in 0..<plane {
                data[c * plane + i] = (Float(image.pixels[3 * i + c]) / 255 - mean) / std
            }
        }
        return try Tensor(shape: [3, image.height, image.width], data: data)
    }
}
