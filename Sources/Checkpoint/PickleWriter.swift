/// Serialises a `PickleValue` tree as pickle protocol 2, the way `torch.save` spells checkpoints: tensors become
/// `_rebuild_tensor_v2` calls over persistent storage ids `('storage', torch.<Type>Storage, key, 'cpu', numel)`.
/// Tensors that share a `StoredStorage` share its key, so views and shared storages are written once.
struct PickleWriter {
    /// The pickle so far (complete after `finish()`).
    private(set) var bytes: [UInt8] = [0x80, 0x02]
    /// The storages referenced so far; a storage's key is its index here, as a decimal string.
    private(set) var storages: [StoredStorage] = []
    private var storageKeys: [ObjectIdentifier: Int] = [:]

    /// Appends `value`.
    mutating func write(_ value: PickleValue) {
        switch value {
        case .none: bytes.append(0x4E)
        case let .bool(flag): bytes.append(flag ? 0x88 : 0x89)
        case let .int(number): writeInt(number)
        case let .float(number):
            bytes.append(0x47)
            withUnsafeBytes(of: number.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
        case let .string(text): writeString(text)
        case let .bytes(raw):
            writeGlobal(.codecsEncode)
            writeString(String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) })))
            writeString("latin1")
            bytes.append(contentsOf: [0x86, 0x52])  // TUPLE2, REDUCE
        case let .tuple(items):
            switch items.count {
            case 0: bytes.append(0x29)
            case 1...3:
                items.forEach { write($0) }
                bytes.append(UInt8(0x84 + items.count))
            default:
                bytes.append(0x28)
                items.forEach { write($0) }
                bytes.append(0x74)
            }
        case let .list(items):
            bytes.append(0x5D)
            for batch in stride(from: 0, to: items.count, by: 1000) {
                bytes.append(0x28)
                items[batch ..< min(batch + 1000, items.count)].forEach { write($0) }
                bytes.append(0x65)  // APPENDS
            }
        case let .dict(entries, ordered):
            if ordered {
                writeGlobal(.orderedDict)
                bytes.append(contentsOf: [0x29, 0x52])  // EMPTY_TUPLE, REDUCE
            } else {
                bytes.append(0x7D)
            }
            for batch in stride(from: 0, to: entries.count, by: 1000) {
                bytes.append(0x28)
                for entry in entries[batch ..< min(batch + 1000, entries.count)] {
                    write(entry.key)
                    write(entry.value)
                }
                bytes.append(0x75)  // SETITEMS
            }
        case let .tensor(tensor): writeTensor(tensor)
        }
    }

    /// Appends STOP; `bytes` is then a complete pickle.
    mutating func finish() { bytes.append(0x2E) }

    private mutating func writeTensor(_ tensor: StoredTensor) {
        let identity = ObjectIdentifier(tensor.storage)
        let key = storageKeys[identity] ?? storages.count
        if key == storages.count {
            storageKeys[identity] = key
            storages.append(tensor.storage)
        }
        writeGlobal(.rebuildTensorV2)
        bytes.append(0x28)  // MARK: the argument tuple
        bytes.append(0x28)  // MARK: the persistent id
        writeString("storage")
        writeGlobal(.storageType(tensor.dtype))
        writeString(String(key))
        writeString("cpu")
        writeInt(tensor.storage.count)
        bytes.append(contentsOf: [0x74, 0x51])  // TUPLE, BINPERSID
        writeInt(tensor.offset)
        write(.tuple(tensor.shape.map { .int($0) }))
        write(.tuple(tensor.strides.map { .int($0) }))
        bytes.append(0x89)  // requires_grad = False
        write(.dict([], ordered: true))  // backward hooks
        bytes.append(contentsOf: [0x74, 0x52])  // TUPLE, REDUCE
    }

    private mutating func writeGlobal(_ global: PickleGlobal) {
        let (module, name) = global.qualifiedName
        bytes.append(0x63)
        bytes.append(contentsOf: Array("\(module)\n\(name)\n".utf8))
    }

    private mutating func writeString(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }

    private mutating func writeInt(_ number: Int) {
        switch number {
        case 0...0xFF: bytes.append(contentsOf: [0x4B, UInt8(number)])
        case 0...0xFFFF: bytes.append(contentsOf: [0x4D, UInt8(number & 0xFF), UInt8(number >> 8)])
        case Int(Int32.min)...Int(Int32.max):
            bytes.append(0x4A)
            withUnsafeBytes(of: Int32(number).littleEndian) { bytes.append(contentsOf: $0) }
        default:
            // LONG1: the shortest little-endian two's complement that keeps the sign.
            var raw = withUnsafeBytes(of: Int64(number).littleEndian) { Array($0) }
            while raw.count > 1, (raw[raw.count - 1] == 0 && raw[raw.count - 2] < 0x80)
                || (raw[raw.count - 1] == 0xFF && raw[raw.count - 2] >= 0x80) {
                raw.removeLast()
            }
            bytes.append(contentsOf: [0x8A, UInt8(raw.count)] + raw)
        }
    }
}
