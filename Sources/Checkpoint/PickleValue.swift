/// A value from (or for) a checkpoint's pickle: the Python objects a tensor checkpoint holds, as a tree.
///
/// numpy float64 scalars (the optimizer's `lr` after the reference's schedule ran) read as `.float`;
/// `OrderedDict` and `dict` are both `.dict`, told apart by `ordered` so a rewrite keeps the type.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([PickleDictEntry], ordered: Bool)
    case tensor(StoredTensor)

    /// The value stored under string key `key` of a dict, or nil.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(entries, _) = self else { return nil }
        return entries.first { $0.key == .string(key) }?.value
    }

    /// The value stored under integer key `key` of a dict (optimizer state is keyed by parameter index), or nil.
    public subscript(index key: Int) -> PickleValue? {
        guard case let .dict(entries, _) = self else { return nil }
        return entries.first { $0.key == .int(key) }?.value
    }

    /// The integer, or nil for other values.
    public var intValue: Int? {
        if case let .int(value) = self { return value }
        return nil
    }

    /// The number (an int widens to Double), or nil for other values.
    public var doubleValue: Double? {
        switch self {
        case let .float(value): return value
        case let .int(value): return Double(value)
        default: return nil
        }
    }

    /// The string, or nil for other values.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The boolean, or nil for other values.
    public var boolValue: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// The tensor, or nil for other values.
    public var tensorValue: StoredTensor? {
        if case let .tensor(value) = self { return value }
        return nil
    }

    /// The elements of a list or tuple, or nil for other values.
    public var elements: [PickleValue]? {
        switch self {
        case let .list(items), let .tuple(items): return items
        default: return nil
        }
    }

    /// The entries of a dict or OrderedDict in order, or nil for other values.
    public var entries: [PickleDictEntry]? {
        if case let .dict(entries, _) = self { return entries }
        return nil
    }
}

/// One key/value pair of a pickled dict, in insertion order.
public struct PickleDictEntry: Sendable, Equatable {
    public var key: PickleValue
    public var value: PickleValue

    public init(_ key: PickleValue, _ value: PickleValue) {
        self.key = key
        self.value = value
    }
}

extension PickleValue {
    /// The same tree with every tensor replaced by `transform(tensor)`.
    public func mappingTensors(_ transform: (StoredTensor) throws -> StoredTensor) rethrows -> PickleValue {
        switch self {
        case let .tensor(tensor): return .tensor(try transform(tensor))
        case let .tuple(items): return .tuple(try items.map { try $0.mappingTensors(transform) })
        case let .list(items): return .list(try items.map { try $0.mappingTensors(transform) })
        case let .dict(entries, ordered):
            return .dict(try entries.map {
                PickleDictEntry(try $0.key.mappingTensors(transform), try $0.value.mappingTensors(transform))
            }, ordered: ordered)
        default: return self
        }
    }
}
