import Foundation
import ZIPFoundation

/// Reads the members of a torch checkpoint's ZIP container (stored members, ZIP64 included) straight out of the
/// file's bytes, without copying. Every offset and length is checked against the archive's real size, so a
/// damaged or hostile archive gives `CheckpointError.malformedArchive`, never an out-of-bounds read.
struct ZipArchiveReader {
    /// One member: its name and where its (uncompressed) bytes lie in the archive.
    struct Member {
        let name: String
        let dataRange: Range<Int>
        let crc32: UInt32
    }

    /// The members in central-directory order.
    let members: [Member]
    private let data: Data
    private let path: String

    /// Parses the central directory of `data` (the whole file; `path` is only used in errors).
    init(data: Data, path: String) throws {
        self.data = data
        self.path = path
        let bytes = ByteReader(data: data)
        let fail = { (reason: String) in CheckpointError.malformedArchive(path: path, reason: reason) }
        guard data.count >= 22, bytes.u32(0) == 0x0403_4B50 || bytes.u32(0) == 0x0605_4B50 else {
            throw fail(data.count < 4 ? "file is too short (\(data.count) bytes)" : "no ZIP signature at the start")
        }
        guard let end = Self.endOfCentralDirectory(bytes) else {
            throw fail("no end-of-central-directory record (truncated file?)")
        }
        var entryCount = Int(bytes.u16(end + 10))
        var directorySize = UInt64(bytes.u32(end + 12))
        var directoryOffset = UInt64(bytes.u32(end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locator = end - 20
            guard locator >= 0, bytes.u32(locator) == 0x0706_4B50 else { throw fail("ZIP64 locator missing") }
            let record64 = bytes.u64(locator + 8)
            guard data.count >= 56, record64 <= UInt64(data.count - 56), bytes.u32(Int(record64)) == 0x0606_4B50 else {
                throw fail("ZIP64 end-of-central-directory record missing")
            }
            let total = bytes.u64(Int(record64) + 32)
            guard total <= UInt64(data.count / 46) else { throw fail("ZIP64 record claims \(total) members") }
            entryCount = Int(total)
            directorySize = bytes.u64(Int(record64) + 40)
            directoryOffset = bytes.u64(Int(record64) + 48)
        }
        guard directoryOffset <= UInt64(data.count), directorySize <= UInt64(data.count) - directoryOffset else {
            throw fail("central directory at \(directoryOffset) (\(directorySize) bytes) lies outside the file")
        }
        var members: [Member] = []
        var cursor = Int(directoryOffset)
        let directoryEnd = cursor + Int(directorySize)
        for _ in 0..<entryCount {
            let (member, next) = try Self.member(at: cursor, limit: directoryEnd, bytes: bytes, fail: fail)
            members.append(member)
            cursor = next
        }
        self.members = members
    }

    /// The member called `name`, or nil.
    func member(named name: String) -> Member? { members.first { $0.name == name } }

    /// A member's bytes (a slice of the archive, no copy), checked against its CRC-32.
    func contents(of member: Member) throws -> Data {
        let slice = data[data.startIndex + member.dataRange.lowerBound ..< data.startIndex + member.dataRange.upperBound]
        guard crc32(of: slice) == member.crc32 else {
            throw CheckpointError.malformedArchive(path: path, reason: "member \(member.name) fails its CRC-32 check")
        }
        return slice
    }

    /// Offset of the end-of-central-directory record, searching back over a possible archive comment.
    private static func endOfCentralDirectory(_ bytes: ByteReader) -> Int? {
        let last = bytes.count - 22
        for offset in stride(from: last, through: max(0, last - 0xFFFF), by: -1)
        where bytes.u32(offset) == 0x0605_4B50 && offset + 22 + Int(bytes.u16(offset + 20)) == bytes.count {
            return offset
        }
        return nil
    }

    /// Parses the central-directory header at `offset` and its local header; returns the member and the next header.
    private static func member(at offset: Int, limit: Int, bytes: ByteReader,
                               fail: (String) -> CheckpointError) throws -> (Member, Int) {
        guard offset <= limit - 46, bytes.u32(offset) == 0x0201_4B50 else {
            throw fail("central directory header missing at offset \(offset)")
        }
        let method = bytes.u16(offset + 10)
        let crc = bytes.u32(offset + 16)
        var compressed = UInt64(bytes.u32(offset + 20))
        var uncompressed = UInt64(bytes.u32(offset + 24))
        let nameLength = Int(bytes.u16(offset + 28)), extraLength = Int(bytes.u16(offset + 30))
        let commentLength = Int(bytes.u16(offset + 32))
        var localOffset = UInt64(bytes.u32(offset + 42))
        let next = offset + 46 + nameLength + extraLength + commentLength
        guard next <= limit else { throw fail("central directory header at \(offset) runs past the directory") }
        let name = String(decoding: bytes.slice(offset + 46, nameLength), as: UTF8.self)
        // ZIP64: the extra field 0x0001 holds, in this order, each of the three fields that reads 0xFFFFFFFF.
        var extra = offset + 46 + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = bytes.u16(extra), size = Int(bytes.u16(extra + 2))
            guard extra + 4 + size <= extraEnd else { throw fail("member \(name): extra field runs past its header") }
            if id == 0x0001 {
                var field = extra + 4
                let fieldEnd = field + size
                func next() throws -> UInt64 {
                    guard field + 8 <= fieldEnd else { throw fail("member \(name): short ZIP64 extra field") }
                    defer { field += 8 }
                    return bytes.u64(field)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
            }
            extra += 4 + size
        }
        guard method == 0 else { throw fail("member \(name) is compressed (method \(method)); torch stores members") }
        guard compressed == uncompressed else { throw fail("member \(name): stored sizes differ") }
        guard bytes.count >= 30, localOffset <= UInt64(bytes.count - 30), bytes.u32(Int(localOffset)) == 0x0403_4B50 else {
            throw fail("member \(name): local header missing at offset \(localOffset)")
        }
        let local = Int(localOffset)
        let start = local + 30 + Int(bytes.u16(local + 26)) + Int(bytes.u16(local + 28))
        guard start <= bytes.count, uncompressed <= UInt64(bytes.count - start) else {
            throw fail("member \(name) (\(uncompressed) bytes) runs past the end of the file")
        }
        return (Member(name: name, dataRange: start ..< start + Int(uncompressed), crc32: crc), next)
    }
}

/// CRC-32 of `data` (the ZIP checksum), in chunks so no length overflows 32 bits.
func crc32(of data: Data) -> UInt32 {
    var checksum: UInt32 = 0
    var start = data.startIndex
    while start < data.endIndex {
        let end = min(start + (1 << 30), data.endIndex)
        checksum = data[start ..< end].crc32(checksum: checksum)
        start = end
    }
    return checksum
}

/// Little-endian reads at offsets relative to the start of `data`; out-of-range reads give 0 (callers compare
/// results against signatures and bounds, so a 0 is always rejected where it matters).
struct ByteReader {
    let data: Data
    var count: Int { data.count }

    func u16(_ offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: value(offset, 2)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: value(offset, 4)) }
    func u64(_ offset: Int) -> UInt64 { value(offset, 8) }

    /// Bytes `offset ..< offset + length` (empty when out of range).
    func slice(_ offset: Int, _ length: Int) -> Data {
        guard offset >= 0, length >= 0, offset <= count - length else { return Data() }
        return data[data.startIndex + offset ..< data.startIndex + offset + length]
    }

    private func value(_ offset: Int, _ size: Int) -> UInt64 {
        guard offset >= 0, offset <= count - size else { return 0 }
        var result: UInt64 = 0
        for index in (0..<size).reversed() { result = result << 8 | UInt64(data[data.startIndex + offset + index]) }
        return result
    }
}
