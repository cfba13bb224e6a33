import Foundation
import Tensor

/// The feature file beside the database: `rows × dimension` values (fp32 or fp16, little-endian, row-major), no
/// header. Only the writer holds one of these: it appends rows at the committed end and fsyncs them before the
/// database commit that counts them, and on open cuts any rows past the committed count (left by a crash).
final class FeatureFileWriter {
    let path: String
    let dimension: Int
    let dtype: FeatureDType
    private let descriptor: Int32
    /// Rows counted by the last database commit.
    private(set) var committedRows: Int

    var rowBytes: Int { dimension * dtype.byteWidth }

    init(path: String, dimension: Int, dtype: FeatureDType, committedRows: Int) throws {
        self.path = path
        self.dimension = dimension
        self.dtype = dtype
        self.committedRows = committedRows
        let created = !FileManager.default.fileExists(atPath: path)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IndexError.io(path: path, reason: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw IndexError.io(path: path, reason: String(cString: strerror(errno)))
        }
        let expected = Int64(committedRows) * Int64(dimension * dtype.byteWidth)
        if Int64(status.st_size) < expected {
            close(descriptor)
            throw IndexError.corruptFeatureFile(path: path, reason: "\(status.st_size) bytes, but the database committed "
                                                + "\(committedRows) rows of \(dimension * dtype.byteWidth) bytes")
        }
        if Int64(status.st_size) > expected {
            // Rows appended by a run that died before its commit: not counted, so dropped.
            guard ftruncate(descriptor, off_t(expected)) == 0, fsync(descriptor) == 0 else {
                close(descriptor)
                throw IndexError.io(path: path, reason: "cannot cut uncommitted rows: \(String(cString: strerror(errno)))")
            }
        }
        if created { syncDirectory(of: path) }
    }

    deinit { close(descriptor) }

    /// Writes `values` (`rows × dimension` fp32) after the committed rows and fsyncs them; the rows count only once
    /// `markCommitted` follows the database commit. A second call before that overwrites the first's rows.
    func appendUncommitted(_ values: [Float]) throws {
        precondition(values.count % dimension == 0)
        let offset = off_t(committedRows * rowBytes)
        let written: Int
        switch dtype {
        case .float32:
            written = values.withUnsafeBytes { writeAll($0, at: offset) }
        case .float16:
            var bits = [UInt16](repeating: 0, count: values.count)
            values.withUnsafeBufferPointer { source in
                bits.withUnsafeMutableBufferPointer { destination in
                    if let s = source.baseAddress, let d = destination.baseAddress {
                        convertFloat32ToFloat16(s, d, count: values.count)
                    }
                }
            }
            written = bits.withUnsafeBytes { writeAll($0, at: offset) }
        }
        guard written == values.count * dtype.byteWidth, fsync(descriptor) == 0 else {
            throw IndexError.io(path: path, reason: "cannot append features: \(String(cString: strerror(errno)))")
        }
    }

    /// Records that the database now counts `rows` rows.
    func markCommitted(rows: Int) { committedRows = rows }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: off_t) -> Int {
        var done = 0
        while done < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, offset + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                return done
            }
            done += result
        }
        return done
    }
}

/// Fsyncs the directory holding `path`, so that a created or renamed entry survives a crash.
func syncDirectory(of path: String) {
    let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { return }
    fsync(directory)
    close(directory)
}

/// The first `rows` rows of a feature file, memory-mapped read-only. Rows are only ever appended past a committed
/// count (never rewritten), so a mapping of committed rows stays valid while a writer appends.
final class FeatureMatrix: @unchecked Sendable {
    let rows: Int
    let dimension: Int
    let dtype: FeatureDType
    /// Largest row norm of each block of rows (for exact search's rounding margin), kept across reloads.
    let blockNorms: BlockNormCache
    private let base: UnsafeRawPointer?
    private let length: Int

    /// - Parameter previous: the matrix this one replaces (same file, fewer or as many rows); its block norms are
    ///   still true of the rows they covered, since committed rows are never rewritten.
    init(path: String, rows: Int, dimension: Int, dtype: FeatureDType, previous: FeatureMatrix? = nil) throws {
        self.rows = rows
        self.dimension = dimension
        self.dtype = dtype
        if let previous, previous.dimension == dimension, previous.dtype == dtype, previous.rows <= rows {
            blockNorms = previous.blockNorms
        } else {
            blockNorms = BlockNormCache()
        }
        length = rows * dimension * dtype.byteWidth
        guard length > 0 else {
            base = nil
            return
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IndexError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) >= length else {
            throw IndexError.corruptFeatureFile(path: path, reason: "shorter than the \(rows) committed rows")
        }
        let mapped = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw IndexError.io(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), length) }
    }

    /// Calls `body` with rows `range` as contiguous fp32 (`range.count × dimension`): the mapping itself for fp32,
    /// else converted into `scratch` (grown as needed).
    func withFloatRows<T>(_ range: Range<Int>, scratch: inout [Float], _ body: (UnsafePointer<Float>) throws -> T) rethrows -> T {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        guard let base, !range.isEmpty else {
            return try [Float](repeating: 0, count: 1).withUnsafeBufferPointer { try body($0.baseAddress!) }
        }
        switch dtype {
        case .float32:
            return try body(base.assumingMemoryBound(to: Float.self) + range.lowerBound * dimension)
        case .float16:
            let count = range.count * dimension
            if scratch.count < count { scratch = [Float](repeating: 0, count: count) }
            let source = base.assumingMemoryBound(to: UInt16.self) + range.lowerBound * dimension
            return try scratch.withUnsafeMutableBufferPointer { destination in
                convertFloat16ToFloat32(source, destination.baseAddress!, count: count)
                return try body(UnsafePointer(destination.baseAddress!))
            }
        }
    }

    /// One row as fp32.
    func row(_ index: Int) -> [Float] {
        var scratch: [Float] = []
        return withFloatRows(index..<(index + 1), scratch: &scratch) { Array(UnsafeBufferPointer(start: $0, count: dimension)) }
    }
}

/// The largest row norm of each aligned block of `ExactScan.blockRows` feature rows, computed once (exactly, in
/// Double) the first time a search needs it and again only when rows were appended to that block since.
final class BlockNormCache: @unchecked Sendable {
    private var norms: [Int: (rows: Int, norm: Double)] = [:]
    private let lock = NSLock()

    /// The largest norm of rows `[block × blockRows, block × blockRows + rows)`, from `compute` when not cached.
    func largestNorm(block: Int, rows: Int, compute: () -> Double) -> Double {
        if let cached = lock.withLock({ norms[block] }), cached.rows == rows { return cached.norm }
        let norm = compute()
        lock.withLock { norms[block] = (rows, norm) }
        return norm
    }
}
