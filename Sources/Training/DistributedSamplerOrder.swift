/// The 32-bit Mersenne Twister (MT19937) that torch's CPU generator runs, seeded as `torch.Generator.manual_seed`
/// seeds it (the low 32 bits of the seed through the standard `init_genrand`).
public struct MersenneTwister19937: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// A generator seeded with the low 32 bits of `seed`.
    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output.
    public mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var value = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { value ^= 0x9908_B0DF }
            state[i] = value
        }
        index = 0
    }
}

/// The order in which the reference's `DistributedSampler(shuffle=True, seed=s)` visits a dataset (REFERENCE §5.3).
public enum DistributedSamplerOrder {
    /// torch's CPU `randperm(n, generator)` for n below 2³²/20: start from 0..<n and, for each i < n − 1, swap
    /// element i with element i + (next 32-bit output mod (n − i)).
    public static func randperm(_ n: Int, seed: UInt64) -> [Int] {
        var generator = MersenneTwister19937(seed: seed)
        var result = Array(0..<max(n, 0))
        guard n > 1 else { return result }
        for i in 0..<(n - 1) {
            let z = Int(UInt64(generator.next()) % UInt64(n - i))
            result.swapAt(i, i + z)
        }
        return result
    }

    /// The indices rank `rank` of `worldSize` visits in epoch `epoch`: the permutation seeded with `seed + epoch`,
    /// padded by wrapping to a multiple of `worldSize`, then every `worldSize`-th element from `rank`.
    public static func indices(count: Int, seed: Int, epoch: Int, rank: Int = 0, worldSize: Int = 1) -> [Int] {
        var order = randperm(count, seed: UInt64(bitPattern: Int64(seed + epoch)))
        let total = (count + worldSize - 1) / worldSize * worldSize
        var wrap = 0
        while order.count < total, !order.isEmpty {
            order.append(order[wrap])
            wrap += 1
        }
        return stride(from: rank, to: order.count, by: worldSize).map { order[$0] }
    }
}
