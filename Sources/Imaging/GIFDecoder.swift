import CGIF

/// The first frame of a GIF through giflib, laid out as Pillow 9.4 does: the canvas is the logical screen
/// (grown to hold the frame), filled with the transparency index (or 0) and the frame pasted at its offset.
/// Mode P with the frame's palette, or L when the palette is the identity grey ramp (Pillow drops it then).
enum GIFDecoder {
    /// Cursor over the encoded bytes for giflib's read callback.
    private struct Source {
        let base: UnsafePointer<UInt8>
        let count: Int
        var position = 0
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let base = try context.start(of: bytes)
        var source = Source(base: base, count: bytes.count)
        return try withUnsafeMutablePointer(to: &source) { sourcePointer in
            var error: Int32 = 0
            guard let gif = DGifOpen(sourcePointer, { gif, buffer, length in
                guard let gif, let buffer, let state = gif.pointee.UserData?.assumingMemoryBound(to: Source.self) else {
                    return 0
                }
                let n = max(0, min(Int(length), state.pointee.count - state.pointee.position))
                buffer.update(from: state.pointee.base + state.pointee.position, count: n)
                state.pointee.position += n
                return Int32(n)
            }, &error) else {
                throw failure(error, name)
            }
            defer { _ = DGifCloseFile(gif, nil) }
            return try readFirstFrame(gif, context)
        }
    }

    private static func readFirstFrame(_ gif: UnsafeMutablePointer<GifFileType>, _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        var transparency: Int?
        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &record) == GIF_OK else { throw failure(gif.pointee.Error, name) }
            switch record {
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else { throw failure(gif.pointee.Error, name) }
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4, block[1] & 1 != 0 {
                    transparency = Int(block[4])
                }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else { throw failure(gif.pointee.Error, name) }
                }
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(gif) == GIF_OK else { throw failure(gif.pointee.Error, name) }
                return try readImage(gif, transparency: transparency, context)
            case TERMINATE_RECORD_TYPE:
                throw ImagingError.corrupt(file: name, reason: "GIF holds no image")
            default:
                throw ImagingError.corrupt(file: name, reason: "unknown GIF record")
            }
        }
    }

    private static func readImage(_ gif: UnsafeMutablePointer<GifFileType>, transparency: Int?,
                                  _ context: DecodeContext) throws -> DecodedImage {
        let name = context.name
        let desc = gif.pointee.Image
        let left = Int(desc.Left), top = Int(desc.Top), frameWidth = Int(desc.Width), frameHeight = Int(desc.Height)
        let width = max(Int(gif.pointee.SWidth), left + frameWidth)
        let height = max(Int(gif.pointee.SHeight), top + frameHeight)
        let warnings = try context.check(width: width, height: height)
        let palette = neededPalette(desc.ColorMap) ?? neededPalette(gif.pointee.SColorMap)
        var samples = [UInt8](repeating: UInt8(truncatingIfNeeded: transparency ?? 0), count: width * height)
        var line = [GifPixelType](repeating: 0, count: max(frameWidth, 1))
        let rows = desc.Interlace ? interlacedRows(frameHeight) : Array(0..<frameHeight)
        for y in rows {
            guard DGifGetLine(gif, &line, Int32(frameWidth)) == GIF_OK else { throw failure(gif.pointee.Error, name) }
            let start = (top + y) * width + left
            samples.replaceSubrange(start..<(start + frameWidth), with: line[0..<frameWidth])
        }
        if let palette {
            return DecodedImage(width: width, height: height, mode: .palette, format: .gif, samples: samples,
                                palette: palette, warnings: warnings)
        }
        return DecodedImage(width: width, height: height, mode: .grey, format: .gif, samples: samples,
                            warnings: warnings)
    }

    /// The palette as 256 entries, or nil when it is absent or the identity grey ramp (Pillow's test).
    private static func neededPalette(_ map: UnsafeMutablePointer<ColorMapObject>?) -> [UInt8]? {
        guard let map, let colors = map.pointee.Colors else { return nil }
        let count = Int(map.pointee.ColorCount)
        var entries = [UInt8]()
        entries.reserveCapacity(3 * count)
        var identity = true
        for i in 0..<count {
            let c = colors[i]
            entries += [c.Red, c.Green, c.Blue]
            if !(Int(c.Red) == i && Int(c.Green) == i && Int(c.Blue) == i) { identity = false }
        }
        return identity ? nil : DecodedImage.palette(from: entries, count: count)
    }

    /// Canvas rows in the order an interlaced GIF stores them.
    private static func interlacedRows(_ height: Int) -> [Int] {
        [(0, 8), (4, 8), (2, 4), (1, 2)].flatMap { start, step in Array(stride(from: start, to: height, by: step)) }
    }

    private static func failure(_ code: Int32, _ name: String) -> ImagingError {
        if code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON { return .truncated(file: name) }
        let text = GifErrorString(code).map { String(cString: $0) } ?? "giflib error \(code)"
        return .corrupt(file: name, reason: text)
    }
}
