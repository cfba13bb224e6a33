import Foundation

/// Torch-style archives assembled byte by byte, independently of the code under test, to build inputs the
/// reference would never write (huge counts, cycles, forbidden globals).
enum HandmadeArchive {
    /// A stored ZIP of `archive/data.pkl` and, when given, `archive/data/0`.
    static func torch(pickle: [UInt8], storage: [UInt8]?) -> Data {
        var members = [("archive/data.pkl", pickle)]
        if let storage { members.append(("archive/data/0", storage)) }
        return zip(members)
    }

    /// A pickle of `{'w': tensor}` whose float32 storage claims `count` elements and whose tensor is 1-D of
    /// `size` elements (default: `count`).
    static func tensorPickle(count: Int, size: Int? = nil) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + string("w")
        p += global("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28] + string("storage")
        p += global("torch", "FloatStorage") + string("0") + string("cpu") + long(count) + [0x74, 0x51]
        p += [0x4B, 0x00] + long(size ?? count) + [0x85, 0x4B, 0x01, 0x85, 0x89]
        p += global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52, 0x75, 0x2E]
        return p
    }

    static func string(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [0x58] + le(UInt64(utf8.count), 4) + utf8
    }

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    static func long(_ value: Int) -> [UInt8] { [0x8A, 0x08] + le(UInt64(value), 8) }

    static func le(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// A minimal stored ZIP (local headers, central directory, end record).
    static func zip(_ members: [(String, [UInt8])]) -> Data {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, bytes) in members {
            let offset = out.count, nameBytes = Array(name.utf8), crc = UInt64(crc32Reference(bytes))
            let sizes = le(crc, 4) + le(UInt64(bytes.count), 4) + le(UInt64(bytes.count), 4)
            out += [0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0] + sizes + le(UInt64(nameBytes.count), 2)
            out += [0, 0] + nameBytes + bytes
            central += [0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0] + sizes
            central += le(UInt64(nameBytes.count), 2) + [UInt8](repeating: 0, count: 12) + le(UInt64(offset), 4)
            central += nameBytes
        }
        let directoryOffset = out.count
        out += central
        out += [0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0] + le(UInt64(members.count), 2) + le(UInt64(members.count), 2)
        out += le(UInt64(central.count), 4) + le(UInt64(directoryOffset), 4) + [0, 0]
        return Data(out)
    }
}

/// Bitwise CRC-32 (the ZIP polynomial), independent of the code under test.
func crc32Reference(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
