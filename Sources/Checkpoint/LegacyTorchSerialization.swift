import Foundation

/// Reads torch's legacy, non-ZIP `torch.save` format (torch 0.4 – 1.5, or later torch with
/// `_use_new_zipfile_serialization=False`; many Hugging Face `pytorch_model.bin` files are in it).
///
/// The file is five consecutive pickles — the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a
/// sys-info dict (`little_endian`, type sizes), the saved object, the list of storage keys — and then, for each
/// key in that list's order, the storage's element count (8 bytes, little-endian) followed by its raw
/// little-endian elements. The object pickle names storages by persistent ids
/// `('storage', <type global>, root key, location, numel, view)`, where `view` is None or
/// `(view key, offset, numel)`: a range of the root storage's elements. Storages are views of the file's bytes.
enum LegacyTorchSerialization {
    /// The magic number's 10 bytes as a LONG1 pickle operand (little-endian two's complement).
    private static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    /// The only legacy protocol version torch ever wrote.
    private static let protocolVersion = 1001

    /// True when `data` starts with the legacy format's magic-number pickle.
    static func hasMagicNumber(_ data: Data) -> Bool { magicPickleEnd(data) != nil }

    /// True when `data` is a tar archive (torch < 0.4 saved checkpoints as one).
    static func isTarArchive(_ data: Data) -> Bool {
        data.count >= 262 && data[data.startIndex + 257 ..< data.startIndex + 262].elementsEqual("ustar".utf8)
    }

    /// The object saved in `data`, the bytes of a legacy `.pt` file (`path` names it in errors).
    /// - Throws: `CheckpointError.malformedLegacyFile` naming what is missing or wrong and where,
    ///   `.forbiddenGlobal` for a global a tensor checkpoint never needs, `.invalidTensor` for a bad layout.
    static func read(_ data: Data, path: String) throws -> PickleValue {
        let fail = { (reason: String) in CheckpointError.malformedLegacyFile(path: path, reason: reason) }
        guard var cursor = magicPickleEnd(data) else {
            throw fail("it does not start with torch's magic number pickle (0x1950a86a20f9469cfc6c)")
        }
        let version = try plainPickle(data, at: &cursor, "the protocol version", path: path)
        guard version.intValue == protocolVersion else {
            throw fail("protocol version is \(version), not \(protocolVersion)")
        }
        let sysInfo = try plainPickle(data, at: &cursor, "the sys-info dict", path: path)
        guard sysInfo.entries != nil else { throw fail("the sys-info pickle is not a dict") }
        if sysInfo["little_endian"]?.boolValue == false {
            throw fail("it was saved on a big-endian machine (sys-info little_endian is False), so the byte order of "
                       + "its storages is unknown; re-save it with torch on a little-endian machine")
        }
        var object = PickleReader(data: data, from: cursor, path: path)
        try describingPickle("the saved object's pickle", path: path) { try object.run() }
        cursor = object.position
        let keyList = try plainPickle(data, at: &cursor, "the storage key list", path: path)
        guard let keys = keyList.elements?.compactMap(\.stringValue), keys.count == keyList.elements?.count else {
            throw fail("the storage key list is not a list of strings")
        }
        var storages = try LegacyStorageSection(data: data, from: cursor, keys: keys,
                                                references: object.storageReferences, path: path)
        return try describingPickle("the saved object's pickle", path: path) {
            try object.value { try storages.storage(for: $0) }
        }
    }

    /// The index just past the magic-number pickle (PROTO, an optional FRAME, LONG1 of 10 bytes, STOP), or nil.
    private static func magicPickleEnd(_ data: Data) -> Int? {
        var cursor = data.startIndex
        guard data.count >= 2, data[cursor] == 0x80 else { return nil }  // PROTO
        cursor += 2
        if cursor < data.endIndex && data[cursor] == 0x95 { cursor += 9 }  // FRAME (protocol 4 and later)
        let expected: [UInt8] = [0x8A, UInt8(magicNumber.count)] + magicNumber + [0x2E]  // LONG1 … STOP
        guard data.endIndex - cursor >= expected.count,
              data[cursor ..< cursor + expected.count].elementsEqual(expected) else { return nil }
        return cursor + expected.count
    }

    /// Reads the storage-free pickle at `cursor` and moves `cursor` past it.
    private static func plainPickle(_ data: Data, at cursor: inout Int, _ what: String,
                                    path: String) throws -> PickleValue {
        var reader = PickleReader(data: data, from: cursor, path: path)
        let value = try describingPickle(what, path: path) {
            try reader.run()
            return try reader.plainValue()
        }
        cursor = reader.position
        return value
    }

    /// Runs `body`, turning a malformed-pickle error into one that says which of the file's pickles it was in.
    private static func describingPickle<T>(_ what: String, path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let CheckpointError.malformedPickle(_, offset, reason) {
            throw CheckpointError.malformedLegacyFile(path: path, reason: "\(what), byte \(offset): \(reason)")
        }
    }
}

/// The storages that follow a legacy file's pickles: located by walking the records in the key list's order,
/// checked against the persistent ids, and handed out (with views cut from them) as the object is built.
private struct LegacyStorageSection {
    private let path: String
    private var roots: [String: StoredStorage] = [:]
    private var views: [String: StoredStorage] = [:]

    init(data: Data, from start: Int, keys: [String], references: [StorageReference], path: String) throws {
        self.path = path
        let fail = { (reason: String) in CheckpointError.malformedLegacyFile(path: path, reason: reason) }
        var claimed: [String: (dtype: StoredDType, count: Int)] = [:]
        for reference in references {
            if let first = claimed[reference.key] {
                guard first == (reference.dtype, reference.count) else {
                    throw fail("storage \(reference.key) is named both as \(first.count) \(first.dtype) and as "
                               + "\(reference.count) \(reference.dtype) elements")
                }
            } else {
                claimed[reference.key] = (reference.dtype, reference.count)
            }
        }
        var cursor = start
        for key in keys {
            guard let (dtype, count) = claimed[key] else {
                throw fail("the storage key list names \(key), which no tensor uses")
            }
            guard roots[key] == nil else { throw fail("the storage key list names \(key) twice") }
            let offset = cursor - data.startIndex
            guard data.endIndex - cursor >= 8 else {
                throw fail("the file ends at byte \(data.count) inside the element count of storage \(key), "
                           + "which starts at byte \(offset)")
            }
            let stored = data.loadLittleEndian(Int64.self, at: cursor)
            cursor += 8
            guard stored == count else {
                throw fail("storage \(key) at byte \(offset) holds \(stored) elements; its persistent id says \(count)")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, byteCount <= data.endIndex - cursor else {
                throw fail("the file ends inside storage \(key): its \(count) \(dtype) elements need \(count) × "
                           + "\(dtype.byteSize) bytes from byte \(offset + 8), but only \(data.endIndex - cursor) remain")
            }
            roots[key] = StoredStorage(dtype: dtype, bytes: data[cursor ..< cursor + byteCount])
            cursor += byteCount
        }
        if let unlisted = claimed.keys.sorted().first(where: { roots[$0] == nil }) {
            throw fail("storage \(unlisted) is used by a tensor but missing from the storage key list")
        }
    }

    /// The storage a persistent id names: the root storage, or the view of it the id describes.
    mutating func storage(for reference: StorageReference) throws -> StoredStorage {
        guard let root = roots[reference.key] else {
            throw CheckpointError.malformedLegacyFile(path: path, reason: "storage \(reference.key) was never read")
        }
        guard let view = reference.view else { return root }
        if let cached = views[view.key] { return cached }
        let (end, overflow) = view.offset.addingReportingOverflow(view.count)
        guard !overflow, end <= root.count else {
            throw CheckpointError.invalidTensor(
                path: path, reason: "view \(view.key) of storage \(reference.key) covers elements "
                    + "\(view.offset) ..< \(view.offset &+ view.count), but the storage holds \(root.count)")
        }
        let size = root.dtype.byteSize, first = root.bytes.startIndex
        let storage = StoredStorage(dtype: root.dtype, bytes: root.bytes[first + view.offset * size ..< first + end * size])
        views[view.key] = storage
        return storage
    }
}
