import Foundation

/// Collects concurrent requests into one batched call: the first request waits up to `window` (possibly zero)
/// for others, or until `maxBatch` are queued, then all of them go through `process` together. Requests that
/// arrive while a batch runs form the next one, so under load the batches grow by themselves. Used for text encoding (one
/// forward pass per batch) and for index searches (one GEMM over the features per batch).
actor Batcher<Input: Sendable, Output: Sendable> {
    typealias Process = @Sendable ([Input]) async throws -> [Output]

    private struct Job {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private let window: Duration
    private let maxBatch: Int
    private let process: Process
    private let depth: @Sendable (Int) -> Void
    private var pending: [Job] = []
    private var draining = false

    /// - Parameter depth: told the number of waiting requests whenever it changes (a metrics gauge).
    init(window: Duration, maxBatch: Int, depth: @escaping @Sendable (Int) -> Void = { _ in }, process: @escaping Process) {
        self.window = window
        self.maxBatch = max(1, maxBatch)
        self.depth = depth
        self.process = process
    }

    /// The output for `input`, computed in some batch.
    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(input: input, continuation: continuation))
            depth(pending.count)
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    /// Runs batches until nothing is pending.
    private func drain() async {
        while true {
            if (pending.count < maxBatch) && (window > .zero) {
                try? await Task.sleep(for: window)
            }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            depth(pending.count)
            if batch.isEmpty {
                draining = false
                return
            }
            do {
                let outputs = try await process(batch.map(\.input))
                for (job, output) in zip(batch, outputs) { job.continuation.resume(returning: output) }
            } catch {
                for job in batch { job.continuation.resume(throwing: error) }
            }
        }
    }
}
