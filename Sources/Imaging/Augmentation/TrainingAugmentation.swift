import Foundation

/// The reference's training transform with `--use-augment` (REFERENCE §4.3; timm `create_transform(S,
/// scale=(0.9, 1), auto_augment='original', interpolation='bicubic')` with an RGB conversion inserted):
/// RandomResizedCrop to S×S in the image's own mode, horizontal flip with p = 1/2, RGB conversion, AutoAugment,
/// then scaling and normalisation as `ImagePreprocessor`.
public struct TrainingAugmentation: Sendable {
    /// Everything decided at random for one image, in the order the draws are made.
    public struct Choice: Sendable, Equatable {
        public var crop: CropBox
        public var flip: Bool
        public var autoAugment: AutoAugmentChoice

        /// A fixed choice (tests replay the reference's decisions with it).
        public init(crop: CropBox, flip: Bool, autoAugment: AutoAugmentChoice) {
            self.crop = crop
            self.flip = flip
            self.autoAugment = autoAugment
        }
    }

    /// The output side S.
    public let resolution: Int
    public let crop: RandomResizedCrop
    public let autoAugment: AutoAugment

    /// timm's fill colour: `round(255 · mean)` per channel, (123, 117, 104) for the CLIP mean.
    public static let fill: [UInt8] = ImagePreprocessor.mean.map { UInt8((255 * Double($0)).rounded()) }

    /// The augmentation for `resolution`×`resolution` outputs.
    public init(resolution: Int) {
        self.resolution = resolution
        crop = RandomResizedCrop(size: resolution)
        autoAugment = AutoAugment(fill: Self.fill)
    }

    /// Draws the decisions for a `width`×`height` image: the crop box, then the flip (u < 0.5), then AutoAugment's.
    public func choose<Source: UniformSource>(width: Int, height: Int, using random: inout Source) -> Choice {
        let box = crop.box(width: width, height: height, using: &random)
        let flip = random.nextUniform() < 0.5
        return Choice(crop: box, flip: flip, autoAugment: autoAugment.choose(using: &random))
    }

    /// The augmented uint8 RGB pixels of `image` for `choice`.
    /// - Throws: `ImagingError.invalidSize` when the crop box does not fit the image.
    public func augmentedRGB(_ image: DecodedImage, choice: Choice) throws -> RGBImage {
        var rgb = try crop.apply(choice.crop, to: image).rgbImage
        if choice.flip { rgb = rgb.flippedHorizontally() }
        return autoAugment.apply(choice.autoAugment, to: rgb)
    }

    /// Augments and normalises `image`, drawing the decisions from `random`.
    public func preprocess<Source: UniformSource>(_ image: DecodedImage, using random: inout Source) throws -> PreprocessedImage {
        let choice = choose(width: image.width, height: image.height, using: &random)
        let pixels = try augmentedRGB(image, choice: choice)
        return PreprocessedImage(tensor: try ImagePreprocessor.normalizedTensor(pixels), pixels: pixels,
                                 warnings: image.warnings)
    }

    /// Decodes encoded image bytes and augments them; `name` labels errors and warnings.
    public func tensor<Source: UniformSource>(fromEncoded data: Data, name: String = "<memory>",
                                              using random: inout Source) throws -> PreprocessedImage {
        try preprocess(ImageDecoder.decode(data, name: name), using: &random)
    }
}
