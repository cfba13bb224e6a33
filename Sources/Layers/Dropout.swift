import Tensor

/// Inverted dropout (PyTorch `nn.Dropout` in training mode): each element is zeroed with probability `p` and the
/// survivors are scaled by 1/(1 − p). The mask is a pure function of a seed, so a recomputed forward pass
/// (gradient checkpointing) draws the same mask.
public struct Dropout: Sendable {
    public let probability: Float

    public init(probability: Float) {
        self.probability = probability
    }

    /// Whether this dropout changes anything (p > 0).
    public var isActive: Bool { probability > 0 }

    /// The scaled keep-mask for `shape`: 1/(1 − p) where kept, 0 where dropped.
    public func mask(shape: [Int], seed: UInt64) -> Tensor {
        let result = Tensor(zeros: shape)
        let keep = 1 / (1 - probability)
        let threshold = UInt64(Double(probability) * Double(UInt64(1) << 53))
        let values = result.storage.pointer
        for index in 0..<result.count {
            let draw = Dropout.mix(seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15) >> 11
            values[index] = draw < threshold ? 0 : keep
        }
        return result
    }

    /// SplitMix64's finaliser: a well-mixed 64-bit hash of `value`.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Where the dropout masks of one forward pass come from: off (evaluation, parity runs) or a seed from which each
/// dropout site derives its own mask.
public struct DropoutContext: Sendable {
    /// Whether dropout layers drop anything.
    public let enabled: Bool
    /// The pass's seed.
    public let seed: UInt64

    public init(enabled: Bool, seed: UInt64 = 0) {
        self.enabled = enabled
        self.seed = seed
    }

    /// No dropout.
    public static let off = DropoutContext(enabled: false)

    /// The seed of site number `site` (layer index × sites per layer + site within the layer).
    public func seed(site: Int) -> UInt64 { Dropout.mix(seed ^ UInt64(site) &* 0xD1B5_4A32_D192_ED03) }

    /// The mask `dropout` applies at `site` for a tensor of `shape`, or nil when nothing is dropped.
    public func mask(_ dropout: Dropout, shape: [Int], site: Int) -> Tensor? {
        guard enabled, dropout.isActive else { return nil }
        return dropout.mask(shape: shape, seed: seed(site: site))
    }
}
