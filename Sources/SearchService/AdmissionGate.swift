import Foundation

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
