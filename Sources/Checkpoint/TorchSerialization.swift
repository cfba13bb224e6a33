import Foundation

/// Reads and writes `torch.save`'s ZIP container (torch ≥ 1.6): `<archive>/data.pkl` (pickle protocol 2),
/// `<archive>/data/<key>` (one member per storage, raw little-endian elements) and `<archive>/version`.
/// Also reads torch's legacy non-ZIP format (see `LegacyTorchSerialization`), told apart by the first byte.
public enum TorchSerialization {
    /// The object saved in the `.pt` file at `url` (a memory-mapped read: tensors view the file's bytes).
    public static func read(contentsOf url: URL) throws -> PickleValue {
        try read(MappedFile.contents(of: url), path: url.path)
    }

    /// The object saved in `data`, the bytes of a `.pt` file (`path` names it in errors): a ZIP archive
    /// (`PK\u{3}\u{4}`), or a legacy file, which starts with a pickle's PROTO byte 0x80. The tar archives of
    /// torch < 0.4 are refused.
    public static func read(_ data: Data, path: String) throws -> PickleValue {
        if data.first == 0x80 { return try LegacyTorchSerialization.read(data, path: path) }
        if LegacyTorchSerialization.isTarArchive(data) {
            throw CheckpointError.malformedLegacyFile(
                path: path, reason: "it is a tar archive, the format of torch < 0.4, which is not supported; "
                    + "re-save it with a newer torch (torch.save(torch.load(file), file))")
        }
        return try readZip(data, path: path)
    }

    private static func readZip(_ data: Data, path: String) throws -> PickleValue {
        let archive = try ZipArchiveReader(data: data, path: path)
        let prefix = archive.members.first.map { name in
            name.name.firstIndex(of: "/").map { String(name.name[...$0]) } ?? ""
        } ?? ""
        guard let pickleMember = archive.member(named: prefix + "data.pkl") else {
            throw CheckpointError.missingMember(path: path, member: prefix + "data.pkl")
        }
        let pickle = [UInt8](try archive.contents(of: pickleMember))
        var cache: [String: StoredStorage] = [:]
        var reader = PickleReader(bytes: pickle, path: path) { dtype, key, count in
            if let cached = cache[key] {
                guard cached.dtype == dtype, cached.count == count else {
                    throw CheckpointError.invalidTensor(path: path, reason: "storage \(key) is named with two types")
                }
                return cached
            }
            let name = prefix + "data/" + key
            guard let member = archive.member(named: name) else {
                throw CheckpointError.missingMember(path: path, member: name)
            }
            let bytes = try archive.contents(of: member)
            let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, needed <= bytes.count else {
                throw CheckpointError.invalidTensor(
                    path: path, reason: "storage \(name) holds \(bytes.count) bytes, fewer than the \(count) "
                        + "\(dtype) elements its tensors claim")
            }
            let storage = StoredStorage(dtype: dtype, bytes: bytes.prefix(needed))
            cache[key] = storage
            return storage
        }
        return try reader.read()
    }

    /// Writes `value` as `torch.save` would, atomically. The archive's folder is the file's basename without
    /// extension, as torch names it. `forceZip64` writes ZIP64 records even for small files (for tests).
    public static func write(_ value: PickleValue, to url: URL, forceZip64: Bool = false) throws {
        var pickler = PickleWriter()
        pickler.write(value)
        pickler.finish()
        let archiveName = url.deletingPathExtension().lastPathComponent
        try AtomicFile.write(to: url) { sink in
            var zip = ZipArchiveWriter(sink: sink, forceZip64: forceZip64)
            try zip.addMember(named: "\(archiveName)/data.pkl", contents: Data(pickler.bytes))
            for (key, storage) in pickler.storages.enumerated() {
                try zip.addMember(named: "\(archiveName)/data/\(key)", contents: storage.bytes)
            }
            try zip.addMember(named: "\(archiveName)/version", contents: Data("3\n".utf8))
            try zip.finish()
        }
    }
}
