import Models

/// FLIP's random patch masking (`--mask-ratio r`, REFERENCE §1.8): for each image keep `int((L−1)·(1−r))` of its
/// `L−1` patch tokens, the first ones in the order that sorts fresh uniform noise (so they stay in shuffled order).
/// The reference draws the noise with `torch.rand` (unseeded); this draws it from a seeded generator.
public struct PatchMasking: Sendable {
    /// The fraction of patches dropped, in [0, 1].
    public let ratio: Double

    /// - Throws: `TrainerError.invalidArgument` for a ratio outside [0, 1].
    public init(ratio: Double) throws {
        guard ratio >= 0, ratio <= 1 else {
            throw TrainerError.invalidArgument(flag: "--mask-ratio", reason: "must lie in [0, 1], got \(ratio)")
        }
        self.ratio = ratio
    }

    /// Whether masking changes anything (the reference masks only when the ratio is not 0).
    public var isActive: Bool { ratio != 0 }

    /// How many of `patches` patch tokens each image keeps: `int(patches · (1 − ratio))`.
    public func keptCount(patches: Int) -> Int { Int(Double(patches) * (1 - ratio)) }

    /// Per image, the 0-based indices of the patches to keep, in kept order.
    public func keptPatches(images: Int, patches: Int, seed: UInt64) -> [[Int]] {
        var random = GaussianSource(seed: seed)
        let keep = keptCount(patches: patches)
        return (0..<images).map { _ in
            let noise = (0..<patches).map { _ in random.uniform() }
            return Array(noise.indices.sorted { (noise[$0], $0) < (noise[$1], $1) }.prefix(keep))
        }
    }

    /// The kept patches for a training forward pass of `images` through `model`: nil when masking is off or the
    /// vision tower is a ResNet (the reference applies FLIP to ViTs only).
    func keptPatches(for model: CLIPModel, images: Int, seed: UInt64) -> [[Int]]? {
        guard isActive, case let .transformer(tower) = model.visual else { return nil }
        return keptPatches(images: images, patches: tower.positionalEmbedding.shape[0] - 1, seed: seed)
    }
}
