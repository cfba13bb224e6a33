import Layers
import Tensor

/// How a training-mode forward pass runs: dropout masks, and whether transformer blocks keep their intermediate
/// values or only their inputs (gradient checkpointing: the block is recomputed in backward), and whether BatchNorm
/// layers share their batch statistics across processes.
public struct TrainingPass: Sendable {
    /// Dropout on (with a seed) or off.
    public var dropout: DropoutContext
    /// Keep only each ViT block's / BERT layer's input and recompute the block in backward.
    public var gradientCheckpointing: Bool
    /// `--use-bn-sync`: the processes over which a ResNet tower's BatchNorm layers take their batch statistics
    /// (PyTorch's `nn.SyncBatchNorm`); nil for plain `nn.BatchNorm2d`.
    public var syncBatchNorm: (any ReplicaSum)?

    public init(dropout: DropoutContext = .off, gradientCheckpointing: Bool = false, syncBatchNorm: (any ReplicaSum)? = nil) {
        self.dropout = dropout
        self.gradientCheckpointing = gradientCheckpointing
        self.syncBatchNorm = syncBatchNorm
    }
}

/// What a training forward pass keeps of one block: its whole cache, or (checkpointing) just its input.
public enum BlockMemory<Cache: Sendable>: Sendable {
    case kept(Cache)
    case recompute(input: Tensor)

    /// Runs `forward` and keeps what `checkpointing` asks for.
    static func run(_ input: Tensor, checkpointing: Bool,
                    _ forward: (Tensor) throws -> (output: Tensor, cache: Cache)) throws -> (Tensor, BlockMemory) {
        let (output, cache) = try forward(input)
        return (output, checkpointing ? .recompute(input: input) : .kept(cache))
    }

    /// The cache, recomputed by `forward` when only the input was kept.
    func cache(_ forward: (Tensor) throws -> (output: Tensor, cache: Cache)) throws -> Cache {
        switch self {
        case let .kept(cache): return cache
        case let .recompute(input): return try forward(input).cache
        }
    }
}
