#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Recycles large tensor buffers between forward passes and training steps.
///
/// Large buffers come from `mmap` directly, so returning one gives its memory back to the system (glibc's heap
/// kept growing with fragmentation instead: 3.2 GB resident for a ViT-B-16 + RoBERTa-base benchmark whose live
/// set is under 1 GB). Freed buffers wait in a cache keyed by their page-rounded size, so the next pass reuses
/// them without the kernel zero-filling fresh pages. The cache holds at most `CNCLIP_BUFFER_CACHE_MB`
/// megabytes (default 1024, raised by `raiseCacheLimit` for training); beyond that, freed buffers are unmapped
/// at once.
public enum BufferPool {
    /// Buffers below this size go through the ordinary allocator.
    static let minimumPooledBytes = 1 << 20
    /// Buffers this large ask for transparent huge pages (fewer TLB misses in GEMM packing and long elementwise passes).
    static let hugePageBytes = 2 << 20
    private static let pageSize = 4096

    private struct State {
        /// Addresses of cached buffers by reserved size (kept as integers so the state stays `Sendable`).
        var free: [Int: [UInt]] = [:]
        var cachedBytes = 0
        var capacityBytes = BufferPool.configuredMegabytes.map { max($0, 0) << 20 } ?? 1024 << 20
    }

    private static let state = Mutex(State())

    /// `CNCLIP_BUFFER_CACHE_MB` when set: it then overrides `raiseCacheLimit` too.
    private static let configuredMegabytes: Int? = {
        ProcessInfo.processInfo.environment["CNCLIP_BUFFER_CACHE_MB"].flatMap { Int($0) }
    }()

    /// Lets the cache grow to `megabytes` (unless `CNCLIP_BUFFER_CACHE_MB` says otherwise). Training frees and
    /// re-creates the same activation and gradient buffers every step, more than the default 1 GB for a
    /// ViT-B-16 + RoBERTa-base step (measured: 1.5 GB of pages zero-filled again per step without it, 16 % of the
    /// step); inference keeps the smaller default because its sizes vary from batch to batch.
    public static func raiseCacheLimit(toMegabytes megabytes: Int) {
        guard configuredMegabytes == nil else { return }
        state.withLock { $0.capacityBytes = max($0.capacityBytes, megabytes << 20) }
    }

    /// Size actually reserved for a request of `bytes` (large requests are rounded up to whole pages).
    static func reservedSize(_ bytes: Int) -> Int {
        bytes < minimumPooledBytes ? bytes : (bytes + pageSize - 1) / pageSize * pageSize
    }

    /// A 64-byte aligned buffer of at least `bytes` bytes, with undefined contents.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let size = reservedSize(bytes)
        guard size >= minimumPooledBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        }
        let reused = state.withLock { state -> UInt? in
            guard let address = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return address
        }
        if let reused, let buffer = UnsafeMutableRawPointer(bitPattern: reused) {
            return buffer
        }
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            // Out of address space or memory: the same outcome as a failed `allocate`.
            fatalError("cannot map \(size) bytes for a tensor buffer: \(String(cString: strerror(errno)))")
        }
        if size >= hugePageBytes { _ = madvise(mapped, size, MADV_HUGEPAGE) }
        return mapped
    }

    /// A 64-byte aligned buffer of at least `bytes` zero bytes. Freshly mapped pages are zero already and are not
    /// written here, so they take no memory until something writes them (a model's weights before loading).
    static func allocateZeroed(bytes: Int) -> UnsafeMutableRawPointer {
        let size = reservedSize(bytes)
        guard size >= minimumPooledBytes else {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 1))
            return buffer
        }
        let reused = state.withLock { state -> UInt? in
            guard let address = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return address
        }
        if let reused, let buffer = UnsafeMutableRawPointer(bitPattern: reused) {
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            return buffer
        }
        return allocate(bytes: bytes)
    }

    /// Gives the pages of a pooled buffer from `allocate(bytes:)` back to the system and makes the buffer
    /// inaccessible, so that a later read faults instead of seeing zeros. Returns false (and does nothing) for a
    /// buffer below the pooled size, which the ordinary allocator owns.
    static func discard(_ buffer: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        let size = reservedSize(bytes)
        guard size >= minimumPooledBytes else { return false }
        _ = madvise(buffer, size, MADV_DONTNEED)
        _ = mprotect(buffer, size, PROT_NONE)
        return true
    }

    /// Returns a buffer that `discard` emptied (its pages read as zeros again).
    static func releaseDiscarded(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        _ = mprotect(buffer, reservedSize(bytes), PROT_READ | PROT_WRITE)
        release(buffer, bytes: bytes)
    }

    /// Returns a buffer from `allocate(bytes:)` with the same `bytes`.
    static func release(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        let size = reservedSize(bytes)
        guard size >= minimumPooledBytes else {
            buffer.deallocate()
            return
        }
        let address = UInt(bitPattern: buffer)
        let cached = state.withLock { state -> Bool in
            guard state.cachedBytes + size <= state.capacityBytes else { return false }
            state.free[size, default: []].append(address)
            state.cachedBytes += size
            return true
        }
        if !cached { munmap(buffer, size) }
    }
}
