import Foundation

/// Writes a ZIP archive the way torch's serializer does: every member stored (no compression), each member's data
/// starting at a 64-byte-aligned offset (padded by an `FB` extra field), ZIP64 records when a size or offset
/// needs them (or always, with `forceZip64`, which tests use to exercise that path on small files).
struct ZipArchiveWriter {
    private let sink: FileSink
    private let forceZip64: Bool
    private var offset: UInt64 = 0
    private var directory: [DirectoryEntry] = []

    private struct DirectoryEntry {
        let name: [UInt8]
        let crc: UInt32
        let size: UInt64
        let localOffset: UInt64
    }

    init(sink: FileSink, forceZip64: Bool) {
        self.sink = sink
        self.forceZip64 = forceZip64
    }

    /// Appends one stored member holding `contents`.
    mutating func addMember(named name: String, contents: Data) throws {
        let nameBytes = Array(name.utf8)
        let size = UInt64(contents.count)
        let zip64 = needsZip64(size: size, offset: offset)
        var header = ByteWriter()
        header.u32(0x0403_4B50)
        header.u16(zip64 ? 45 : 20)  // version needed
        header.u16(0x0800)  // UTF-8 names
        header.u16(0)  // stored
        header.u16(0); header.u16(0)  // time, date
        header.u32(crc32(of: contents))
        header.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        header.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        header.u16(UInt16(nameBytes.count))
        let zip64Extra = zip64 ? 20 : 0
        let unpadded = offset + 30 + UInt64(nameBytes.count + zip64Extra + 4)
        let padding = Int((64 - unpadded % 64) % 64)
        header.u16(UInt16(zip64Extra + 4 + padding))
        header.bytes(nameBytes)
        if zip64 {
            header.u16(0x0001); header.u16(16)
            header.u64(size); header.u64(size)
        }
        header.u16(0x4246); header.u16(UInt16(padding))  // "FB": alignment padding, as torch writes it
        header.bytes([UInt8](repeating: 0x5A, count: padding))
        directory.append(DirectoryEntry(name: nameBytes, crc: crc32(of: contents), size: size, localOffset: offset))
        try sink.write(header.data)
        try sink.write(contents)
        offset += UInt64(header.data.count) + size
    }

    /// Writes the central directory and end records; the archive is complete afterwards.
    mutating func finish() throws {
        let directoryOffset = offset
        var central = ByteWriter()
        for entry in directory {
            let zip64 = needsZip64(size: entry.size, offset: entry.localOffset)
            central.u32(0x0201_4B50)
            central.u16(zip64 ? 45 : 20); central.u16(zip64 ? 45 : 20)  // made by, needed
            central.u16(0x0800); central.u16(0)  // flags, stored
            central.u16(0); central.u16(0)  // time, date
            central.u32(entry.crc)
            central.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.size))
            central.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.size))
            central.u16(UInt16(entry.name.count))
            central.u16(zip64 ? 28 : 0)  // extra
            central.u16(0); central.u16(0); central.u16(0)  // comment, disk, internal attributes
            central.u32(0)  // external attributes
            central.u32(zip64 ? 0xFFFF_FFFF : UInt32(entry.localOffset))
            central.bytes(entry.name)
            if zip64 {
                central.u16(0x0001); central.u16(24)
                central.u64(entry.size); central.u64(entry.size); central.u64(entry.localOffset)
            }
        }
        let directorySize = UInt64(central.data.count)
        let endOffset = directoryOffset + directorySize
        let zip64End = forceZip64 || directory.count >= 0xFFFF || endOffset >= 0xFFFF_FFFF
        if zip64End {
            central.u32(0x0606_4B50)
            central.u64(44)  // size of the rest of this record
            central.u16(45); central.u16(45)
            central.u32(0); central.u32(0)  // disk numbers
            central.u64(UInt64(directory.count)); central.u64(UInt64(directory.count))
            central.u64(directorySize); central.u64(directoryOffset)
            central.u32(0x0706_4B50)  // locator
            central.u32(0); central.u64(endOffset); central.u32(1)
        }
        central.u32(0x0605_4B50)
        central.u16(0); central.u16(0)  // disk numbers
        let count16 = zip64End ? 0xFFFF : UInt16(directory.count)
        central.u16(count16); central.u16(count16)
        central.u32(zip64End ? 0xFFFF_FFFF : UInt32(directorySize))
        central.u32(zip64End ? 0xFFFF_FFFF : UInt32(directoryOffset))
        central.u16(0)  // comment length
        try sink.write(central.data)
    }

    private func needsZip64(size: UInt64, offset: UInt64) -> Bool {
        forceZip64 || size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
    }
}

/// Little-endian byte assembly for archive headers.
struct ByteWriter {
    private(set) var data = Data()

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func bytes(_ values: [UInt8]) { data.append(contentsOf: values) }
}
