/// The image operations of timm's AutoAugment, named as timm names them.
public enum AugmentOperation: String, Sendable, CaseIterable {
    case posterizeOriginal = "PosterizeOriginal", solarize = "Solarize", autoContrast = "AutoContrast"
    case equalize = "Equalize", invert = "Invert", color = "Color", contrast = "Contrast", sharpness = "Sharpness"
    case rotate = "Rotate", shearX = "ShearX"

    /// Whether timm negates the argument with probability 1/2 (`_randomly_negate`).
    public var isSigned: Bool { self == .rotate || self == .shearX }

    /// timm's level function for `magnitude` (clamped to 0...10, no magnitude noise): Rotate `30·m/10` degrees,
    /// ShearX `0.3·m/10`, PosterizeOriginal `int(4·m/10) + 4` bits, Solarize `min(256, int(256·m/10))`,
    /// Color/Contrast/Sharpness `1.8·m/10 + 0.1`; nil for the operations without an argument.
    public func argument(magnitude: Int) -> Double? {
        let level = Double(max(0, min(magnitude, 10))) / 10
        switch self {
        case .rotate: return level * 30
        case .shearX: return level * 0.3
        case .posterizeOriginal: return Double(Int(level * 4) + 4)
        case .solarize: return Double(min(256, Int(level * 256)))
        case .color, .contrast, .sharpness: return level * 1.8 + 0.1
        case .autoContrast, .equalize, .invert: return nil
        }
    }

    /// The operation applied to `image` with `argument` (already signed); `fill` colours what Rotate and ShearX
    /// uncover.
    public func apply(to image: RGBImage, argument: Double?, fill: [UInt8]) -> RGBImage {
        let value = argument ?? 0
        switch self {
        case .posterizeOriginal: return Int(value) >= 8 ? image : image.posterized(bits: Int(value))
        case .solarize: return image.solarized(threshold: Int(value))
        case .autoContrast: return image.autocontrasted()
        case .equalize: return image.equalized()
        case .invert: return image.inverted()
        case .color: return image.colorEnhanced(factor: value)
        case .contrast: return image.contrastEnhanced(factor: value)
        case .sharpness: return image.sharpnessEnhanced(factor: value)
        case .rotate: return image.rotated(degrees: value, fill: fill)
        case .shearX: return image.shearedX(factor: value, fill: fill)
        }
    }
}

/// One operation of a sub-policy: applied with `probability` at `magnitude`.
public struct AugmentStep: Sendable, Equatable {
    public let operation: AugmentOperation
    public let probability: Double
    public let magnitude: Int

    /// A step of `operation` with its probability and magnitude (0...10).
    public init(_ operation: AugmentOperation, _ probability: Double, _ magnitude: Int) {
        self.operation = operation
        self.probability = probability
        self.magnitude = magnitude
    }

    /// The unsigned argument (`operation.argument(magnitude:)`).
    public var argument: Double? { operation.argument(magnitude: magnitude) }
}

/// AutoAugment policies: lists of two-step sub-policies, one picked uniformly per image.
public enum AutoAugmentPolicy {
    /// timm's `auto_augment_policy_original()`: the ImageNet policy of the AutoAugment paper (Cubuk et al. 2018),
    /// with PosterizeOriginal (the paper's posterize levels); REFERENCE §4.3.
    public static let original: [[AugmentStep]] = [
        [AugmentStep(.posterizeOriginal, 0.4, 8), AugmentStep(.rotate, 0.6, 9)],
        [AugmentStep(.solarize, 0.6, 5), AugmentStep(.autoContrast, 0.6, 5)],
        [AugmentStep(.equalize, 0.8, 8), AugmentStep(.equalize, 0.6, 3)],
        [AugmentStep(.posterizeOriginal, 0.6, 7), AugmentStep(.posterizeOriginal, 0.6, 6)],
        [AugmentStep(.equalize, 0.4, 7), AugmentStep(.solarize, 0.2, 4)],
        [AugmentStep(.equalize, 0.4, 4), AugmentStep(.rotate, 0.8, 8)],
        [AugmentStep(.solarize, 0.6, 3), AugmentStep(.equalize, 0.6, 7)],
        [AugmentStep(.posterizeOriginal, 0.8, 5), AugmentStep(.equalize, 1.0, 2)],
        [AugmentStep(.rotate, 0.2, 3), AugmentStep(.solarize, 0.6, 8)],
        [AugmentStep(.equalize, 0.6, 8), AugmentStep(.posterizeOriginal, 0.4, 6)],
        [AugmentStep(.rotate, 0.8, 8), AugmentStep(.color, 0.4, 0)],
        [AugmentStep(.rotate, 0.4, 9), AugmentStep(.equalize, 0.6, 2)],
        [AugmentStep(.equalize, 0.0, 7), AugmentStep(.equalize, 0.8, 8)],
        [AugmentStep(.invert, 0.6, 4), AugmentStep(.equalize, 1.0, 8)],
        [AugmentStep(.color, 0.6, 4), AugmentStep(.contrast, 1.0, 8)],
        [AugmentStep(.rotate, 0.8, 8), AugmentStep(.color, 1.0, 2)],
        [AugmentStep(.color, 0.8, 8), AugmentStep(.solarize, 0.8, 7)],
        [AugmentStep(.sharpness, 0.4, 7), AugmentStep(.invert, 0.6, 8)],
        [AugmentStep(.shearX, 0.6, 5), AugmentStep(.equalize, 1.0, 9)],
        [AugmentStep(.color, 0.4, 0), AugmentStep(.equalize, 0.6, 3)],
        [AugmentStep(.equalize, 0.4, 7), AugmentStep(.solarize, 0.2, 4)],
        [AugmentStep(.solarize, 0.6, 5), AugmentStep(.autoContrast, 0.6, 5)],
        [AugmentStep(.invert, 0.6, 4), AugmentStep(.equalize, 1.0, 8)],
        [AugmentStep(.color, 0.6, 4), AugmentStep(.contrast, 1.0, 8)],
        [AugmentStep(.equalize, 0.8, 8), AugmentStep(.equalize, 0.6, 3)],
    ]
}
