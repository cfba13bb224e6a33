/// A source of uniform draws in [0, 1): the one primitive every random choice of the training augmentation is
/// derived from, so that tests can replay the exact values a fixture used.
public protocol UniformSource {
    /// The next value, uniform in [0, 1).
    mutating func nextUniform() -> Double
}

extension UniformSource {
    /// Python's `random.uniform(a, b)`: `a + (b - a) * u`.
    public mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * nextUniform()
    }

    /// An integer in `a...b`, `a + int(u * (b - a + 1))` (clamped to `b` against rounding).
    public mutating func integer(_ a: Int, _ b: Int) -> Int {
        min(b, a + Int(nextUniform() * Double(b - a + 1)))
    }
}

/// The augmentation's seeded generator: xoshiro256** with its state filled by SplitMix64 from a seed and a stream
/// number. The reference draws from Python's unseeded `random`, so its augmentations cannot be repeated; this port
/// seeds one generator per sample from (`--seed`, epoch, sample position), so a run repeats exactly and does not
/// depend on how loading is split across threads.
public struct AugmentationRandom: UniformSource, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed` and `stream` (different streams give independent-looking sequences).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var mix = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func next() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    /// The top 53 bits of `next()` scaled to [0, 1).
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Replays a fixed list of uniform values (then repeats the last): how tests feed a fixture's draws.
public struct ReplayedUniforms: UniformSource, Sendable {
    private let values: [Double]
    /// How many values have been drawn.
    public private(set) var used = 0

    /// Replays `values` (which must not be empty to be useful; an empty list yields 0.5).
    public init(_ values: [Double]) {
        self.values = values
    }

    public mutating func nextUniform() -> Double {
        defer { used += 1 }
        guard !values.isEmpty else { return 0.5 }
        return values[min(used, values.count - 1)]
    }
}
