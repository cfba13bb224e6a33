/// Uncompressed BMP read by hand as Pillow 9.4's plugin reads it: 1/4/8-bit palette images become P, or
/// "1"/L when the palette is the grey ramp; 24-bit and 32-bit (BGRX or a supported bitfield layout) become RGB,
/// or RGBA when the bitfields carry alpha. RLE, 16-bit and other layouts are refused.
enum BMPDecoder {
    private static let supported32BitMasks: [[UInt32]: (order: [Int], alpha: Bool)] = [
        [0xFF0000, 0xFF00, 0xFF, 0]: ([2, 1, 0], false),
        [0xFF00_0000, 0xFF0000, 0xFF00, 0]: ([3, 2, 1], false),
        [0xFF00_0000, 0xFF0000, 0xFF00, 0xFF]: ([3, 2, 1, 0], true),
        [0xFF, 0xFF00, 0xFF0000, 0xFF00_0000]: ([0, 1, 2, 3], true),
        [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000]: ([2, 1, 0, 3], true),
        [0, 0, 0, 0]: ([2, 1, 0, 3], true),
    ]

    static func decode(_ bytes: UnsafeRawBufferPointer, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let reader = ByteReader(bytes: bytes, name: name)
        let dataOffset = Int(try reader.u32(at: 10))
        let headerSize = Int(try reader.u32(at: 14))
        var width: Int, height: Int, bits: Int, compression = 0, colors = 0, paletteEntrySize = 4, bottomUp = true
        var masks: [UInt32] = []
        var position = 14 + headerSize
        switch headerSize {
        case 12:
            width = Int(try reader.u16(at: 18))
            height = Int(try reader.u16(at: 20))
            bits = Int(try reader.u16(at: 24))
            paletteEntrySize = 3
        case 40, 64, 108, 124:
            width = Int(try reader.u32(at: 18))
            let rawHeight = Int(try reader.u32(at: 22))
            bottomUp = try reader.u8(at: 25) != 0xFF
            height = bottomUp ? rawHeight : (1 << 32) - rawHeight
            bits = Int(try reader.u16(at: 28))
            compression = Int(try reader.u32(at: 30))
            colors = Int(try reader.u32(at: 46))
            if compression == 3 {
                if headerSize >= 56 {
                    masks = try (0..<4).map { try reader.u32(at: 54 + 4 * $0) }
                } else {
                    masks = try (0..<3).map { try reader.u32(at: 54 + 4 * $0) } + [0]
                    position += 12
                }
            }
        default:
            throw ImagingError.unsupported(file: name, reason: "BMP header size \(headerSize)")
        }
        let warnings = try context.check(width: width, height: height)
        if colors == 0 { colors = 1 << min(bits, 24) }
        var pixelOffset = dataOffset
        if pixelOffset == 14 + headerSize && bits <= 8 { pixelOffset += 4 * colors }
        let stride = ((width * bits + 31) >> 3) & ~3
        guard pixelOffset >= 0, pixelOffset + stride * height <= bytes.count else { throw ImagingError.truncated(file: name) }
        func rowStart(_ y: Int) -> Int { pixelOffset + stride * (bottomUp ? height - 1 - y : y) }

        switch (bits, compression) {
        case (1, 0), (4, 0), (8, 0):
            guard colors <= 256 else { throw ImagingError.unsupported(file: name, reason: "BMP palette of \(colors) colours") }
            let entries = try (0..<colors).flatMap { i -> [UInt8] in
                let at = position + paletteEntrySize * i
                return [try reader.u8(at: at + 2), try reader.u8(at: at + 1), try reader.u8(at: at)]
            }
            var indices = [UInt8](repeating: 0, count: width * height)
            for y in 0..<height {
                let start = rowStart(y)
                for x in 0..<width {
                    let bitOffset = x * bits
                    let byte = bytes[start + bitOffset >> 3]
                    let shift = 8 - bits - (bitOffset & 7)
                    indices[y * width + x] = (byte >> UInt8(shift)) & UInt8((1 << bits) - 1)
                }
            }
            let greyValues = colors == 2 ? [0, 255] : Array(0..<colors)
            let isGrey = greyValues.enumerated().allSatisfy { i, v in entries[3 * i..<3 * i + 3].allSatisfy { Int($0) == v } }
            if isGrey {
                guard (colors == 2) == (bits == 1), bits == 1 || bits == 8 else {
                    throw ImagingError.unsupported(file: name, reason: "\(bits)-bit BMP with a \(colors)-entry grey palette")
                }
                let values = colors == 2 ? indices.map { $0 == 0 ? 0 : 255 } : indices
                return DecodedImage(width: width, height: height, mode: colors == 2 ? .bilevel : .grey, format: .bmp,
                                    samples: values, warnings: warnings)
            }
            return DecodedImage(width: width, height: height, mode: .palette, format: .bmp, samples: indices,
                                palette: DecodedImage.palette(from: entries, count: colors), warnings: warnings)
        case (24, 0), (24, 3), (32, 0), (32, 3):
            var order = [2, 1, 0], alpha = false
            if compression == 3 {
                if bits == 32, let layout = supported32BitMasks[masks] {
                    (order, alpha) = layout
                } else if bits != 24 || Array(masks.prefix(3)) != [0xFF0000, 0xFF00, 0xFF] {
                    throw ImagingError.unsupported(file: name, reason: "BMP bitfields layout")
                }
            }
            let bytesPerPixel = bits / 8
            let channels = alpha ? 4 : 3
            var samples = [UInt8](repeating: 0, count: width * height * channels)
            for y in 0..<height {
                let start = rowStart(y)
                for x in 0..<width {
                    let source = start + x * bytesPerPixel
                    let target = (y * width + x) * channels
                    for c in 0..<channels { samples[target + c] = bytes[source + order[c]] }
                }
            }
            return DecodedImage(width: width, height: height, mode: alpha ? .rgba : .rgb, format: .bmp,
                                samples: samples, warnings: warnings)
        default:
            throw ImagingError.unsupported(file: name, reason: "BMP with \(bits) bits per pixel, compression \(compression)")
        }
    }
}

/// Bounds-checked little-endian reads that throw `truncated` naming the file.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let name: String

    func u8(at offset: Int) throws -> UInt8 {
        guard offset >= 0, offset < bytes.count else { throw ImagingError.truncated(file: name) }
        return bytes[offset]
    }

    func u16(at offset: Int) throws -> UInt16 {
        UInt16(try u8(at: offset)) | UInt16(try u8(at: offset + 1)) << 8
    }

    func u32(at offset: Int) throws -> UInt32 {
        UInt32(try u16(at: offset)) | UInt32(try u16(at: offset + 2)) << 16
    }
}
