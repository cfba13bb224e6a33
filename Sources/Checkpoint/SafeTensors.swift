import Foundation

/// Reads and writes `.safetensors`: an 8-byte little-endian header length, a JSON header mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `"__metadata__"` of strings), then the
/// tensors' raw little-endian bytes.
public enum SafeTensors {
    /// Largest header accepted (the format's own limit).
    public static let maximumHeaderSize = 100_000_000

    /// The tensors (in data order) and metadata of the file at `url`, memory-mapped.
    public static func read(contentsOf url: URL) throws -> (stateDict: StateDict, metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        return try read(data, path: url.path)
    }

    /// The tensors (in data order) and metadata of a safetensors file's bytes; `path` names it in errors.
    public static func read(_ data: Data, path: String) throws -> (stateDict: StateDict, metadata: [String: String]) {
        let fail = { (reason: String) in CheckpointError.malformedSafetensors(path: path, reason: reason) }
        let bytes = ByteReader(data: data)
        guard data.count >= 8 else { throw fail("file is too short (\(data.count) bytes)") }
        let headerSize = bytes.u64(0)
        guard headerSize <= UInt64(min(data.count - 8, maximumHeaderSize)) else {
            throw fail("header length \(headerSize) exceeds the file")
        }
        let dataStart = 8 + Int(headerSize)
        let body = data.count - dataStart
        guard let header = try? JSONSerialization.jsonObject(with: bytes.slice(8, Int(headerSize))) as? [String: Any]
        else { throw fail("header is not a JSON object") }
        var metadata: [String: String] = [:]
        var placed: [(begin: Int, key: String, tensor: StoredTensor)] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let strings = value as? [String: String] else { throw fail("__metadata__ is not string to string") }
                metadata = strings
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor \(key) lacks dtype, shape or data_offsets") }
            guard let dtype = StoredDType(safetensorsName: dtypeName) else {
                throw fail("tensor \(key) has unsupported dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= body else {
                throw fail("tensor \(key) data_offsets [\(begin), \(end)] lie outside the \(body) data bytes")
            }
            do {
                let tensor = try StoredTensor(dtype: dtype, shape: shape,
                                              contiguousBytes: bytes.slice(dataStart + begin, end - begin))
                placed.append((begin, key, tensor))
            } catch {
                throw fail("tensor \(key): \(error.description)")
            }
        }
        placed.sort { ($0.begin, $0.key) < ($1.begin, $1.key) }
        return (StateDict(placed.map { ($0.key, $0.tensor) }), metadata)
    }

    /// Writes `stateDict` (contiguous, in order) with `metadata` to `url`, atomically.
    public static func write(_ stateDict: StateDict, metadata: [String: String], to url: URL) throws {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (key, tensor) in stateDict.entries {
            let size = tensor.count * tensor.dtype.byteSize
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(quoted(key)):{\"dtype\":\"\(tensor.dtype.safetensorsName)\",\"shape\":[\(shape)],"
                          + "\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Data("{\(fields.joined(separator: ","))}".utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        try AtomicFile.write(to: url) { sink in
            var length = ByteWriter()
            length.u64(UInt64(header.count))
            try sink.write(length.data)
            try sink.write(header)
            for (_, tensor) in stateDict.entries { try sink.write(tensor.contiguousBytes()) }
        }
    }

    private static func quoted(_ text: String) -> String {
        let encoded = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])
        return encoded.flatMap { String(data: $0, encoding: .utf8) } ?? "\"\""
    }
}
