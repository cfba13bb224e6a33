/// A model's named tensors in file order (`OrderedDict` of a `.pt`, tensors of a `.safetensors`).
public struct StateDict: Sendable, Equatable {
    /// Keys in order.
    public private(set) var keys: [String] = []
    private var tensorsByKey: [String: StoredTensor] = [:]

    /// An empty state dict.
    public init() {}

    /// A state dict of `entries` in order; a repeated key keeps its first position and its last tensor.
    public init(_ entries: [(String, StoredTensor)]) {
        for (key, tensor) in entries { self[key] = tensor }
    }

    /// The tensor under `key`; setting a new key appends it, setting nil removes it.
    public subscript(key: String) -> StoredTensor? {
        get { tensorsByKey[key] }
        set {
            if let tensor = newValue {
                if tensorsByKey.updateValue(tensor, forKey: key) == nil { keys.append(key) }
            } else if tensorsByKey.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The entries in order.
    public var entries: [(key: String, tensor: StoredTensor)] {
        keys.compactMap { key in tensorsByKey[key].map { (key, $0) } }
    }

    /// Number of tensors.
    public var count: Int { keys.count }

    /// The same keys in the same order with each tensor replaced by `transform(key, tensor)`.
    public func mapTensors(_ transform: (String, StoredTensor) throws -> StoredTensor) rethrows -> StateDict {
        StateDict(try entries.map { ($0.key, try transform($0.key, $0.tensor)) })
    }

    /// The state dict as the pickle value torch saves: an `OrderedDict` of string keys to tensors.
    public var pickleValue: PickleValue {
        .dict(entries.map { PickleDictEntry(.string($0.key), .tensor($0.tensor)) }, ordered: true)
    }

    /// Reads a pickled dict of string keys to tensors; `path` names the file in errors.
    public init(pickleValue: PickleValue, path: String) throws {
        guard let entries = pickleValue.entries else {
            throw CheckpointError.unexpectedContents(path: path, reason: "the state dict is not a dict")
        }
        for entry in entries {
            guard let key = entry.key.stringValue else {
                throw CheckpointError.unexpectedContents(path: path, reason: "state dict key \(entry.key) is not a string")
            }
            guard let tensor = entry.value.tensorValue else {
                throw CheckpointError.unexpectedContents(path: path, reason: "state dict entry \(key) is not a tensor")
            }
            self[key] = tensor
        }
    }

    public static func == (lhs: StateDict, rhs: StateDict) -> Bool {
        lhs.keys == rhs.keys && lhs.tensorsByKey == rhs.tensorsByKey
    }
}
