import Dispatch
import Foundation
import Synchronization

/// The parallel-for every kernel uses, and the process-wide thread count.
///
/// The count comes from the environment variable `CNCLIP_NUM_THREADS` (default: all cores) and is the
/// same number handed to OpenBLAS (see `Matmul.swift`), so kernels and GEMMs never oversubscribe the cores.
public enum Parallel {
    /// Threads kernels and BLAS may use: `CNCLIP_NUM_THREADS` when it holds a positive integer, else all cores.
    public static let threadCount: Int = threadCount(environment: ProcessInfo.processInfo.environment,
                                                     cores: ProcessInfo.processInfo.activeProcessorCount)

    /// The thread count a given environment asks for (`CNCLIP_NUM_THREADS`), falling back to `cores`.
    public static func threadCount(environment: [String: String], cores: Int) -> Int {
        if let text = environment["CNCLIP_NUM_THREADS"]?.trimmingCharacters(in: .whitespaces),
           let value = Int(text), value > 0 {
            return value
        }
        return max(cores, 1)
    }

    /// Splits `0..<count` into contiguous ranges of at least `grain` items each and runs `body` on every
    /// range, on at most `threadCount` threads at once. Small counts run inline on the calling thread, so
    /// tiny tensors never pay for threading.
    public static func forRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        forChunks(count, grain: grain) { _, range in body(range) }
    }

    /// Runs `body(chunk, range)` for each of the ranges `forRanges` would make; `chunkCount(count:grain:)`
    /// tells callers how many per-chunk scratch buffers (e.g. partial sums) to prepare. Which thread runs a
    /// chunk varies, but the chunks' ranges depend only on `count`, `grain` and `threadCount`.
    public static func forChunks(_ count: Int, grain: Int, _ body: (Int, Range<Int>) -> Void) {
        let chunks = chunkCount(count, grain: grain)
        if chunks == 0 { return }
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        // `threadCount` workers take chunks in turn from a shared counter, so a worker whose core is busy
        // with another process takes fewer chunks instead of holding everyone up at the end.
        let nextChunk = Atomic<Int>(0)
        // The body only runs during this call and each chunk writes disjoint memory, so handing the
        // non-Sendable closure to the worker threads is safe.
        withoutActuallyEscaping(body) { escapingBody in
            let shared = UncheckedSendable(value: escapingBody)
            DispatchQueue.concurrentPerform(iterations: min(threadCount, chunks)) { _ in
                while true {
                    let chunk = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
                    if chunk >= chunks { return }
                    shared.value(chunk, chunkRange(chunk, of: chunks, count: count))
                }
            }
        }
    }

    /// Chunks per thread when there is enough work: a few, so the load balances when cores are shared.
    static let chunksPerThread = 4

    /// Number of ranges `forChunks` splits `count` items into.
    public static func chunkCount(_ count: Int, grain: Int) -> Int {
        guard count > 0 else { return 0 }
        let byGrain = max(1, count / max(grain, 1))
        return threadCount == 1 ? 1 : min(threadCount * chunksPerThread, byGrain)
    }

    private static func chunkRange(_ chunk: Int, of chunks: Int, count: Int) -> Range<Int> {
        let start = count * chunk / chunks
        let end = count * (chunk + 1) / chunks
        return start..<end
    }

    /// Work items per chunk so that each chunk touches about `targetElements` floats.
    static func grain(elementsPerItem: Int, targetElements: Int = 32_768) -> Int {
        max(1, targetElements / max(elementsPerItem, 1))
    }
}

/// Carries a value the compiler cannot prove Sendable across `concurrentPerform`; see `Parallel.forChunks`.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
