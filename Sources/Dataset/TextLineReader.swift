#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line as Python's text mode does (universal newlines: `\n`, `\r\n` and `\r` all end a line),
/// holding only one buffer in memory however large the file. Lines come back without their terminator.
public final class TextLineReader {
    /// The file being read, as given.
    public let path: String
    /// Number of the line last returned (1-based); 0 before the first.
    public private(set) var lineNumber = 0
    /// Bytes consumed so far (for progress reports).
    public private(set) var bytesRead = 0

    private let descriptor: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEndOfFile = false

    /// Opens `path`; throws `DatasetError.unreadableFile` (with the system's reason) when it cannot.
    public init(path: String, bufferSize: Int = 1 << 20) throws(DatasetError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DatasetError.unreadableFile(file: path, reason: String(cString: strerror(errno))) }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw DatasetError.unreadableFile(file: path, reason: String(cString: strerror(EISDIR)))
        }
        descriptor = fd
        buffer = [UInt8](repeating: 0, count: max(bufferSize, 16))
    }

    deinit { close(descriptor) }

    /// The next line's bytes (without `\n`, `\r\n` or `\r`), or nil at the end of the file.
    public func nextLine() throws(DatasetError) -> ArraySlice<UInt8>? {
        var scanFrom = start
        while true {
            var index = scanFrom
            while index < end {
                let byte = buffer[index]
                if byte == 0x0A || byte == 0x0D {
                    if byte == 0x0D && index + 1 == end && !atEndOfFile {
                        break  // need one more byte to tell `\r` from `\r\n`
                    }
                    let line = buffer[start..<index]
                    var next = index + 1
                    if byte == 0x0D && next < end && buffer[next] == 0x0A { next += 1 }
                    bytesRead += next - start
                    start = next
                    lineNumber += 1
                    return line
                }
                index += 1
            }
            scanFrom = index
            if atEndOfFile {
                guard start < end else { return nil }
                let line = buffer[start..<end]
                bytesRead += end - start
                start = end
                lineNumber += 1
                return line
            }
            scanFrom -= start
            try refill()
        }
    }

    /// The next line decoded as UTF-8 (strictly: invalid bytes are an error naming the line), or nil at the end.
    public func nextString() throws(DatasetError) -> String? {
        guard let bytes = try nextLine() else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DatasetError.malformedLine(file: path, line: lineNumber, reason: "not valid UTF-8")
        }
        return text
    }

    /// Moves unread bytes to the front and reads more, growing the buffer when one line fills it.
    private func refill() throws(DatasetError) {
        if start > 0 {
            let pending = end - start
            buffer.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                memmove(base, base + start, pending)
            }
            end = pending
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let count = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return read(descriptor, base + end, raw.count - end)
        }
        if count < 0 { throw DatasetError.unreadableFile(file: path, reason: String(cString: strerror(errno))) }
        if count == 0 { atEndOfFile = true }
        end += count
    }
}
