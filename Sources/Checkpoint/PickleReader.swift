import Foundation

/// A restricted unpickler for checkpoint pickles (protocol 2 and the few later opcodes that carry the same data).
///
/// It builds plain values only: globals resolve through `PickleGlobal` (anything else is refused by name), and
/// containers live in an arena addressed by index, so memo sharing, cycles and deep nesting cannot make it
/// recurse without bound or leak. Every length field is checked against the bytes that remain.
///
/// Reading has two phases: `run()` executes the opcodes up to STOP (collecting the storages the persistent ids
/// name), then `value(resolving:)` builds the value, asking for each storage's bytes only then. The legacy format
/// needs the split: its storages follow the pickle, laid out by the ids the pickle holds.
struct PickleReader {
    /// Resolves a storage's persistent id `('storage', type, key, location, numel)` to its bytes.
    typealias StorageLoader = (_ dtype: StoredDType, _ key: String, _ count: Int) throws -> StoredStorage

    /// The persistent-id tuples a container writes: 5 entries in ZIP files, 6 (a view last) in legacy files.
    private enum PersistentIDLayout { case zip, legacy }

    /// Deepest container nesting accepted (torch checkpoints nest about 6 deep).
    static let maximumDepth = 100
    /// Longest module or name a GLOBAL opcode may carry.
    static let maximumGlobalNameLength = 1024

    private let bytes: Data
    private let start: Int
    private let path: String
    private let persistentIDs: PersistentIDLayout
    private let loadStorage: StorageLoader?
    /// Index in `bytes` of the next opcode; after `run()`, the byte after STOP.
    private(set) var position: Int
    private var opcodeStart: Int
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]
    private var arena: [Node] = []
    private var result: Item?
    /// Every storage a persistent id names, in the order the pickle names them (repeats included).
    private(set) var storageReferences: [StorageReference] = []

    /// A reader of a ZIP container's `data.pkl`; `read()` resolves storages with `loadStorage`.
    init(bytes: [UInt8], path: String, loadStorage: @escaping StorageLoader) {
        self.init(data: Data(bytes), from: 0, path: path, persistentIDs: .zip, loadStorage: loadStorage)
    }

    /// A reader of the legacy-format pickle that starts at index `start` of `data` (which may continue past its
    /// STOP); error offsets count from `data.startIndex`.
    init(data: Data, from start: Int, path: String) {
        self.init(data: data, from: start, path: path, persistentIDs: .legacy, loadStorage: nil)
    }

    private init(data: Data, from start: Int, path: String, persistentIDs: PersistentIDLayout,
                 loadStorage: StorageLoader?) {
        bytes = data
        self.start = start
        self.path = path
        self.persistentIDs = persistentIDs
        self.loadStorage = loadStorage
        position = start
        opcodeStart = start
    }

    /// Runs the pickle to its STOP and returns the value it built (for readers made with a storage loader).
    mutating func read() throws -> PickleValue {
        try run()
        guard let loadStorage else { return try plainValue() }
        return try value { try loadStorage($0.dtype, $0.key, $0.count) }
    }

    /// Executes the opcodes up to and including STOP.
    mutating func run() throws {
        while true {
            opcodeStart = position
            let opcode = try byte()
            if opcode == 0x2E { break }  // STOP
            try execute(opcode)
        }
        guard let top = stack.popLast() else { throw failure("STOP with an empty stack") }
        result = top
    }

    /// The value `run()` built, each storage's bytes given by `loadStorage` (which should cache by key, so
    /// tensors that share a storage share its bytes).
    func value(resolving loadStorage: (StorageReference) throws -> StoredStorage) throws -> PickleValue {
        guard let result else { throw failure("the pickle was not run to its STOP") }
        var budget = 2 * (position - start) + 1024
        return try value(of: result, depth: 0, budget: &budget, loadStorage: loadStorage)
    }

    /// The value of a pickle that holds no storages (a legacy file's header pickles and storage key list).
    func plainValue() throws -> PickleValue {
        try value { _ in throw failure("the pickle names a storage where none may appear") }
    }

    // MARK: - Opcodes

    private mutating func execute(_ opcode: UInt8) throws {
        switch opcode {
        case 0x80: _ = try byte()  // PROTO
        case 0x95: _ = try take(8)  // FRAME
        case 0x28: marks.append(stack.count)  // MARK
        case 0x4E: stack.append(.none)  // NONE
        case 0x88: stack.append(.bool(true))  // NEWTRUE
        case 0x89: stack.append(.bool(false))  // NEWFALSE
        case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
        case 0x4D: stack.append(.int(Int(try littleEndian(2))))  // BININT2
        case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
        case 0x8A: stack.append(.int(try long(length: Int(try byte()))))  // LONG1
        case 0x8B: stack.append(.int(try long(length: Int(try littleEndian(4)))))  // LONG4
        case 0x47: stack.append(.float(Double(bitPattern: try bigEndian(8))))  // BINFLOAT
        case 0x58: stack.append(.string(try text(length: try littleEndian(4))))  // BINUNICODE
        case 0x8C: stack.append(.string(try text(length: UInt64(try byte()))))  // SHORT_BINUNICODE
        case 0x54: stack.append(.string(try text(length: try littleEndian(4))))  // BINSTRING (Python 2 str)
        case 0x55: stack.append(.string(try text(length: UInt64(try byte()))))  // SHORT_BINSTRING (Python 2 str)
        case 0x42: stack.append(.bytes(Array(try take(try length(try littleEndian(4))))))  // BINBYTES
        case 0x43: stack.append(.bytes(Array(try take(Int(try byte())))))  // SHORT_BINBYTES
        case 0x7D: stack.append(newNode(.dict(ordered: false)))  // EMPTY_DICT
        case 0x5D: stack.append(newNode(.list))  // EMPTY_LIST
        case 0x29: stack.append(newNode(.tuple))  // EMPTY_TUPLE
        case 0x64: try pushContainer(.dict(ordered: false), from: try popMark())  // DICT
        case 0x6C: stack.append(newNode(.list, items: try popMark()))  // LIST
        case 0x74: stack.append(newNode(.tuple, items: try popMark()))  // TUPLE
        case 0x85, 0x86, 0x87: stack.append(newNode(.tuple, items: try pop(Int(opcode) - 0x84)))  // TUPLE1/2/3
        case 0x61: let item = try pop(1); try appendToTop(item)  // APPEND
        case 0x65: let items = try popMark(); try appendToTop(items)  // APPENDS
        case 0x73: let pair = try pop(2); try setItems(pair)  // SETITEM
        case 0x75: try setItems(try popMark())  // SETITEMS
        case 0x30: _ = try pop(1)  // POP
        case 0x31: _ = try popMark()  // POP_MARK
        case 0x32: stack.append(try peek())  // DUP
        case 0x71: memo[Int(try byte())] = try peek()  // BINPUT
        case 0x72: memo[Int(try littleEndian(4))] = try peek()  // LONG_BINPUT
        case 0x94: memo[memo.count] = try peek()  // MEMOIZE
        case 0x68: stack.append(try recall(Int(try byte())))  // BINGET
        case 0x6A: stack.append(try recall(Int(try littleEndian(4))))  // LONG_BINGET
        case 0x63: try pushGlobal()  // GLOBAL
        case 0x52: let arguments = try pop(2); stack.append(try call(arguments[0], arguments[1]))  // REDUCE
        case 0x62: _ = try pop(1); _ = try peek()  // BUILD: object state (OrderedDict `_metadata`, dtype) is ignored
        case 0x51: stack.append(.storage(try storageReference(try pop(1)[0])))  // BINPERSID
        default:
            throw failure("opcode 0x\(String(opcode, radix: 16)) is not used by tensor checkpoints")
        }
    }

    /// APPEND and APPENDS: adds the popped items to the list now on top of the stack.
    private mutating func appendToTop(_ items: [Item]) throws {
        guard case let .node(index)? = stack.last, arena[index].kind == .list else {
            throw failure("APPEND to something that is not a list")
        }
        arena[index].items.append(contentsOf: items)
    }

    private mutating func setItems(_ flat: [Item]) throws {
        guard flat.count % 2 == 0 else { throw failure("SETITEMS with an odd number of items") }
        guard case let .node(index)? = stack.last, case .dict = arena[index].kind else {
            throw failure("SETITEM on something that is not a dict")
        }
        for pair in stride(from: 0, to: flat.count, by: 2) {
            arena[index].set(flat[pair], flat[pair + 1])
        }
    }

    private mutating func pushContainer(_ kind: Node.Kind, from flat: [Item]) throws {
        stack.append(newNode(kind))
        try setItems(flat)
    }

    private mutating func pushGlobal() throws {
        let module = try line(), name = try line()
        guard let global = PickleGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(path: path, module: module, name: name)
        }
        stack.append(.global(global))
    }

    // MARK: - Calls of the allowed globals

    private mutating func call(_ callable: Item, _ argumentsItem: Item) throws -> Item {
        guard case let .global(global) = callable else { throw failure("REDUCE of something that is not a global") }
        guard case let .node(argumentsIndex) = argumentsItem, arena[argumentsIndex].kind == .tuple else {
            throw failure("REDUCE arguments are not a tuple")
        }
        let arguments = arena[argumentsIndex].items
        switch global {
        case .orderedDict:
            guard arguments.isEmpty else { throw failure("OrderedDict called with arguments") }
            return newNode(.dict(ordered: true))
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(arguments))
        case .rebuildParameter:
            guard let first = arguments.first, case .tensor = first else {
                throw failure("_rebuild_parameter without a tensor")
            }
            return first
        case .numpyDType:
            guard case let .string(name)? = arguments.first else { throw failure("numpy dtype without a name") }
            return .dtype(name)
        case .numpyScalar:
            guard arguments.count == 2, case let .dtype(name) = arguments[0], case let .bytes(raw) = arguments[1] else {
                throw failure("numpy scalar needs (dtype, bytes)")
            }
            return try numpyScalar(dtype: name, raw: raw)
        case .codecsEncode:
            guard arguments.count == 2, case let .string(text) = arguments[0], case let .string(codec) = arguments[1],
                  ["latin1", "latin-1"].contains(codec.lowercased()) else {
                throw failure("_codecs.encode needs (text, 'latin1')")
            }
            let scalars = text.unicodeScalars.map(\.value)
            guard scalars.allSatisfy({ $0 < 256 }) else { throw failure("latin1 text holds a character above 255") }
            return .bytes(scalars.map { UInt8($0) })
        case .storageType:
            throw failure("a storage type is not callable")
        }
    }

    private func rebuildTensor(_ arguments: [Item]) throws -> PendingTensor {
        guard arguments.count >= 4, case let .storage(storage) = arguments[0], case let .int(offset) = arguments[1] else {
            throw failure("_rebuild_tensor_v2 needs (storage, offset, size, stride, …)")
        }
        return PendingTensor(storage: storage, offset: offset, shape: try integers(arguments[2], "size"),
                             strides: try integers(arguments[3], "stride"))
    }

    private func integers(_ item: Item, _ what: String) throws -> [Int] {
        guard case let .node(index) = item, arena[index].kind == .tuple else {
            throw failure("tensor \(what) is not a tuple")
        }
        return try arena[index].items.map { element in
            guard case let .int(value) = element else { throw failure("tensor \(what) holds a non-integer") }
            return value
        }
    }

    private func numpyScalar(dtype: String, raw: [UInt8]) throws -> Item {
        func load(_ size: Int) throws -> UInt64 {
            guard raw.count == size else { throw failure("numpy \(dtype) scalar has \(raw.count) bytes") }
            return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        switch dtype {
        case "f8": return .float(Double(bitPattern: try load(8)))
        case "f4": return .float(Double(Float(bitPattern: UInt32(try load(4)))))
        case "i8": return .int(Int(Int64(bitPattern: try load(8))))
        case "i4": return .int(Int(Int32(bitPattern: UInt32(try load(4)))))
        default: throw failure("numpy scalar of dtype \(dtype) is not supported")
        }
    }

    private mutating func storageReference(_ item: Item) throws -> StorageReference {
        guard case let .node(index) = item, arena[index].kind == .tuple else {
            throw failure("persistent id is not a tuple")
        }
        let id = arena[index].items
        let expected = persistentIDs == .zip ? "('storage', type, key, location, numel)"
            : "('storage', type, key, location, numel, view)"
        guard id.count == (persistentIDs == .zip ? 5 : 6), case .string("storage") = id[0],
              case let .global(.storageType(dtype)) = id[1], case let .string(key) = id[2],
              case let .int(count) = id[4], count >= 0 else {
            throw failure("persistent id is not \(expected)")
        }
        var view: StorageReference.View?
        if persistentIDs == .legacy, case let .node(viewIndex) = id[5] {
            let items = arena[viewIndex].items
            guard arena[viewIndex].kind == .tuple, items.count == 3, case let .string(viewKey) = items[0],
                  case let .int(viewOffset) = items[1], case let .int(viewCount) = items[2],
                  viewOffset >= 0, viewCount >= 0 else {
                throw failure("storage view is not (key, offset, numel)")
            }
            view = StorageReference.View(key: viewKey, offset: viewOffset, count: viewCount)
        } else if persistentIDs == .legacy, case .none = id[5] {
            view = nil
        } else if persistentIDs == .legacy {
            throw failure("storage view is neither None nor (key, offset, numel)")
        }
        let reference = StorageReference(dtype: dtype, key: key, count: count, view: view)
        storageReferences.append(reference)
        return reference
    }

    // MARK: - Stack, memo and arena

    private mutating func newNode(_ kind: Node.Kind, items: [Item] = []) -> Item {
        arena.append(Node(kind: kind, items: items))
        return .node(arena.count - 1)
    }

    private mutating func pop(_ count: Int) throws -> [Item] {
        guard stack.count - count >= (marks.last ?? 0) else { throw failure("stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popMark() throws -> [Item] {
        guard let mark = marks.popLast() else { throw failure("no MARK on the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func peek() throws -> Item {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw failure("stack underflow") }
        return top
    }

    private func recall(_ key: Int) throws -> Item {
        guard let item = memo[key] else { throw failure("memo key \(key) was never stored") }
        return item
    }

    /// Converts an item to a value; `budget` bounds the output size so memo sharing cannot blow it up.
    private func value(of item: Item, depth: Int, budget: inout Int,
                       loadStorage: (StorageReference) throws -> StoredStorage) throws -> PickleValue {
        budget -= 1
        guard budget >= 0 else { throw failure("pickle expands to more values than its size allows") }
        switch item {
        case .none: return .none
        case let .bool(value): return .bool(value)
        case let .int(value): return .int(value)
        case let .float(value): return .float(value)
        case let .string(value): return .string(value)
        case let .bytes(value): return .bytes(value)
        case let .tensor(pending):
            do {
                return .tensor(try StoredTensor(storage: try loadStorage(pending.storage), offset: pending.offset,
                                                shape: pending.shape, strides: pending.strides))
            } catch let error as TensorLayoutError {
                throw CheckpointError.invalidTensor(path: path, reason: error.description)
            }
        case .global, .storage, .dtype:
            throw failure("pickle leaves a global, storage or dtype where a value belongs")
        case let .node(index):
            guard depth < Self.maximumDepth else { throw failure("containers nest deeper than \(Self.maximumDepth)") }
            let node = arena[index]
            let items = try node.items.map { try value(of: $0, depth: depth + 1, budget: &budget, loadStorage: loadStorage) }
            switch node.kind {
            case .list: return .list(items)
            case .tuple: return .tuple(items)
            case let .dict(ordered):
                let keys = try node.keys.map { try value(of: $0, depth: depth + 1, budget: &budget, loadStorage: loadStorage) }
                return .dict(zip(keys, items).map { PickleDictEntry($0, $1) }, ordered: ordered)
            }
        }
    }

    // MARK: - Bytes

    private func failure(_ reason: String) -> CheckpointError {
        .malformedPickle(path: path, offset: opcodeStart - bytes.startIndex, reason: reason)
    }

    private var remaining: Int { bytes.endIndex - position }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.endIndex else { throw failure("pickle ends before STOP") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws -> Data {
        guard count >= 0, count <= remaining else { throw failure("pickle ends inside an operand") }
        defer { position += count }
        return bytes[position ..< position + count]
    }

    private func length(_ value: UInt64) throws -> Int {
        guard value <= UInt64(remaining) else { throw failure("length \(value) runs past the pickle") }
        return Int(value)
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt64 {
        try take(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func bigEndian(_ count: Int) throws -> UInt64 {
        try take(count).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func long(length count: Int) throws -> Int {
        guard count <= 8 else { throw failure("integer wider than 64 bits") }
        let raw = try take(count)
        guard let last = raw.last else { return 0 }
        var value: UInt64 = 0
        for (shift, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        if count < 8 && last & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }  // sign-extend
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(length count: UInt64) throws -> String {
        let raw = try take(try length(count))
        guard let decoded = String(validating: raw, as: UTF8.self) else { throw failure("string is not UTF-8") }
        return decoded
    }

    private mutating func line() throws -> String {
        let searched = bytes[position ..< position + min(remaining, Self.maximumGlobalNameLength + 1)]
        guard let end = searched.firstIndex(of: 0x0A) else { throw failure("GLOBAL name without newline") }
        defer { position = end + 1 }
        guard let decoded = String(validating: bytes[position ..< end], as: UTF8.self) else {
            throw failure("GLOBAL name is not UTF-8")
        }
        return decoded
    }
}

/// A storage a persistent id names: element type, key and element count, and in legacy files the view of it
/// (a range of its elements under a key of its own) that the tensor indexes, if any.
struct StorageReference: Equatable {
    /// `(view key, offset, numel)`: the elements `offset ..< offset + numel` of the root storage.
    struct View: Equatable {
        let key: String
        let offset: Int
        let count: Int
    }

    let dtype: StoredDType
    let key: String
    let count: Int
    let view: View?
}

/// A `_rebuild_tensor_v2` call whose storage is resolved when the value is built.
private struct PendingTensor {
    let storage: StorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// One entry of the unpickler's stack or memo: a scalar inline, a container by arena index, or an
/// intermediate object (global, storage, numpy dtype) that must be consumed before STOP.
private enum Item {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case node(Int)
    case global(PickleGlobal)
    case storage(StorageReference)
    case tensor(PendingTensor)
    case dtype(String)

    /// The key a dict indexes for fast replacement (Python semantics for repeated keys), nil for other keys.
    var hashKey: HashKey? {
        switch self {
        case let .string(value): return .string(value)
        case let .int(value): return .int(value)
        default: return nil
        }
    }

    enum HashKey: Hashable { case string(String), int(Int) }
}

/// A list, tuple or dict under construction; dict keys and values are parallel arrays.
private struct Node {
    enum Kind: Equatable { case list, tuple, dict(ordered: Bool) }

    var kind: Kind
    var items: [Item]
    var keys: [Item] = []
    var index: [Item.HashKey: Int] = [:]

    init(kind: Kind, items: [Item]) {
        self.kind = kind
        self.items = items
    }

    /// `dict[key] = value`: replaces the value of an existing string or integer key, else appends.
    mutating func set(_ key: Item, _ value: Item) {
        if let hashKey = key.hashKey {
            if let existing = index[hashKey] {
                items[existing] = value
                return
            }
            index[hashKey] = items.count
        }
        keys.append(key)
        items.append(value)
    }
}
