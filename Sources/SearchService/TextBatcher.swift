import Foundation

/// Collects concurrent text queries into one forward pass: the first query waits up to `window` for others
/// (or until `maxBatch` are queued), then all of them go through `encode` together. Queries that arrive while a
/// pass runs form the next batch, so under load the batches grow by themselves.
actor TextBatcher {
    typealias Encode = @Sendable ([[Int]]) async throws -> [[Float]]

    private struct Job {
        let row: [Int]
        let continuation: CheckedContinuation<[Float], any Error>
    }

    private let window: Duration
    private let maxBatch: Int
    private let encode: Encode
    private let metrics: ServiceMetrics
    private var pending: [Job] = []
    private var draining = false

    init(window: Duration, maxBatch: Int, metrics: ServiceMetrics, encode: @escaping Encode) {
        self.window = window
        self.maxBatch = max(1, maxBatch)
        self.metrics = metrics
        self.encode = encode
    }

    /// The feature of one token row, computed in some batch.
    func submit(_ row: [Int]) async throws -> [Float] {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(row: row, continuation: continuation))
            metrics.queueDepth(kind: "text").set(Double(pending.count))
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
            metrics.queueDepth(kind: "text").set(Double(pending.count))
            if batch.isEmpty {
                draining = false
                return
            }
            do {
                let features = try await encode(batch.map(\.row))
                for (job, feature) in zip(batch, features) { job.continuation.resume(returning: feature) }
            } catch {
                for job in batch { job.continuation.resume(throwing: error) }
            }
        }
    }
}

/// A counting semaphore with a bounded waiting line: `enter` returns false at once when `maxWaiting` callers
/// already wait, so overload is refused (503) instead of queued without end. A cancelled waiter leaves the line.
final class AdmissionGate: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private let maxWaiting: Int
    private var inside = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, any Error>)] = []
    private var nextID: UInt64 = 0

    init(capacity: Int, maxWaiting: Int) {
        self.capacity = max(1, capacity)
        self.maxWaiting = max(0, maxWaiting)
    }

    private enum Admission { case now, full, wait(UInt64) }

    /// Waits for a place; false when the line is full. Throws `CancellationError` if the task is cancelled while waiting.
    func enter() async throws -> Bool {
        let admission: Admission = lock.withLock {
            if inside < capacity {
                inside += 1
                return .now
            }
            guard waiters.count < maxWaiting else { return .full }
            nextID += 1
            return .wait(nextID)
        }
        guard case let .wait(id) = admission else {
            if case .now = admission { return true }
            return false
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                let outcome: Bool? = lock.withLock {
                    if Task.isCancelled { return false }
                    if inside < capacity {
                        inside += 1
                        return true
                    }
                    waiters.append((id, continuation))
                    return nil
                }
                switch outcome {
                case true?: continuation.resume(returning: true)
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Bool, any Error>? in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives the place back, handing it straight to the longest waiter.
    func leave() {
        let next = lock.withLock { () -> CheckedContinuation<Bool, any Error>? in
            if waiters.isEmpty {
                inside -= 1
                return nil
            }
            return waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
