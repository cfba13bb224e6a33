import Tensor

/// One named tensor of a module's state, keyed by the reference's state-dict path
/// (e.g. `visual.transformer.resblocks.0.attn.in_proj_weight`).
public struct StateEntry: Sendable {
    /// Whether the optimiser updates the tensor (parameter) or the forward pass does (buffer, e.g. BN running stats);
    /// an integer buffer (BN `num_batches_tracked`) is int64 in checkpoints and held as fp32 here.
    public enum Kind: Sendable { case parameter, buffer, integerBuffer }

    public let name: String
    public let tensor: Tensor
    public let kind: Kind

    public init(_ name: String, _ tensor: Tensor, kind: Kind = .parameter) {
        self.name = name
        self.tensor = tensor
        self.kind = kind
    }
}

/// A layer or model whose tensors have names in the reference's state dict.
public protocol StatefulModule {
    /// The module's tensors in the reference's `state_dict()` order, each name prefixed with `prefix`.
    func stateEntries(prefix: String) -> [StateEntry]
}

extension String {
    /// `prefix` joined to `name` with a dot, or `name` alone when the prefix is empty.
    public func dotted(_ name: String) -> String { isEmpty ? name : self + "." + name }
}
