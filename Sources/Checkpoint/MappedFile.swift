import Foundation

/// Reads whole checkpoint files memory-mapped (read-only, private), so tensors can view the file's bytes without
/// copying them; and lets a loader hand pages it has finished with back to the kernel.
enum MappedFile {
    /// Address ranges of the live mappings this type made, so `discardPages` never touches other memory.
    nonisolated(unsafe) private static var mappings: [ObjectIdentifier: Range<UInt>] = [:]
    private static let lock = NSLock()

    /// Unmaps its range when the last `Data` viewing it goes away.
    private final class Mapping {
        let base: UnsafeMutableRawPointer
        let size: Int
        init(base: UnsafeMutableRawPointer, size: Int) {
            self.base = base
            self.size = size
            let start = UInt(bitPattern: base)
            MappedFile.lock.withLock { MappedFile.mappings[ObjectIdentifier(self)] = start ..< start + UInt(size) }
        }
        deinit {
            _ = MappedFile.lock.withLock { MappedFile.mappings.removeValue(forKey: ObjectIdentifier(self)) }
            munmap(base, size)
        }
    }

    /// The bytes of the file at `url`.
    /// - Throws: `CheckpointError.unreadableFile` naming the path.
    static func contents(of url: URL) throws -> Data {
        let fail = { (reason: String) in CheckpointError.unreadableFile(path: url.path, reason: reason) }
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw fail(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(status.st_size)
        guard size > 0 else { return Data() }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw fail("mmap: \(String(cString: strerror(errno)))")
        }
        let mapping = Mapping(base: base, size: size)
        return Data(bytesNoCopy: base, count: size, deallocator: .custom { _, _ in withExtendedLifetime(mapping) {} })
    }

    /// Tells the kernel that the mapped pages under `bytes` are not needed for now, so they stop counting towards
    /// the process's resident memory; a later read faults them in again from the file. Memory that is not part of
    /// a mapping made by `contents(of:)` is left alone.
    static func discardPages(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let start = UInt(bitPattern: base), end = start + UInt(bytes.count)
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        lock.withLock {
            guard let range = mappings.values.first(where: { $0.lowerBound <= start && end <= $0.upperBound }) else { return }
            let first = max(start / page * page, range.lowerBound)
            let last = min((end + page - 1) / page * page, range.upperBound)
            guard last > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
            _ = madvise(pointer, Int(last - first), MADV_DONTNEED)
        }
    }
}
