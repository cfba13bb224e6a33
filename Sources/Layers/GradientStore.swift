import Tensor

/// Gradients of a model's parameters, accumulated by the layers' backward passes.
///
/// A gradient is filed under the parameter tensor it belongs to (its storage and offset), so layers need not know
/// their names; `named(_:)` gives them back under the state-dict names of a module's `stateEntries`.
public final class GradientStore: @unchecked Sendable {
    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let offset: Int
    }

    private var gradients: [Key: Tensor] = [:]
    private var frozen: Set<Key> = []
    /// Told after every change to a trainable parameter's gradient (overlapped gradient averaging learns from it
    /// when a gradient is final).
    public weak var observer: (any GradientObserver)?

    public init() {}

    private static func key(_ parameter: Tensor) -> Key {
        Key(storage: ObjectIdentifier(parameter.storage), offset: parameter.offset)
    }

    /// Marks parameters that receive no gradient (`requires_grad = False`): their `accumulate` calls are ignored.
    public func freeze(_ parameters: [Tensor]) {
        for parameter in parameters { frozen.insert(Self.key(parameter)) }
    }

    /// Whether `parameter` takes gradients.
    public func requiresGradient(_ parameter: Tensor) -> Bool { !frozen.contains(Self.key(parameter)) }

    /// Adds `gradient` to the gradient of `parameter` (the first call stores a contiguous copy-free view when it can).
    /// - Throws: `TensorError.shapeMismatch` when the shapes differ.
    public func accumulate(_ gradient: Tensor, for parameter: Tensor) throws {
        let key = Self.key(parameter)
        if frozen.contains(key) { return }
        guard gradient.shape == parameter.shape else {
            throw TensorError.shapeMismatch(op: "GradientStore.accumulate", lhs: parameter.shape, rhs: gradient.shape)
        }
        if let existing = gradients[key] {
            try addInPlace(existing, gradient)
        } else {
            gradients[key] = gradient.contiguous()
        }
        observer?.gradientChanged(for: parameter)
    }

    /// The accumulated gradient of `parameter`, created as zeros when none arrived yet (for kernels that write
    /// into it directly, e.g. an embedding's scattered rows).
    /// The caller's writes into it count as part of this change (the observer hears of it before they happen).
    public func buffer(for parameter: Tensor) -> Tensor {
        let key = Self.key(parameter)
        if !frozen.contains(key) { observer?.gradientChanged(for: parameter) }
        if let existing = gradients[key] { return existing }
        let zeros = Tensor(zeros: parameter.shape)
        gradients[key] = zeros
        return zeros
    }

    /// The accumulated gradient of `parameter`, or nil when nothing reached it.
    public func gradient(for parameter: Tensor) -> Tensor? { gradients[Self.key(parameter)] }

    /// Forgets every gradient (PyTorch's `zero_grad(set_to_none=True)`); frozen marks stay.
    public func clear() { gradients.removeAll(keepingCapacity: true) }

    /// The gradients of the parameters among `entries`, by state-dict name (parameters without one are left out).
    public func named(_ entries: [StateEntry]) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for entry in entries where entry.kind == .parameter {
            if let gradient = gradient(for: entry.tensor) { result[entry.name] = gradient }
        }
        return result
    }
}

/// Watches the gradients a backward pass accumulates.
public protocol GradientObserver: AnyObject {
    /// `parameter`'s gradient was just created or added to, or is about to be written by a `buffer(for:)` caller;
    /// either way the change is complete by the store's next call.
    func gradientChanged(for parameter: Tensor)
}
