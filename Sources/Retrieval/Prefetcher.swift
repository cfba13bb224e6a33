import Foundation

/// Runs a producer on its own thread, up to `capacity` items ahead of the consumer, so that decoding, tokenising
/// or parsing overlaps the model or the GEMMs on the consuming thread. The producer's error reaches the consumer
/// after the items produced before it; dropping the prefetcher (or `cancel()`) makes the producer's next `emit`
/// return false so it can stop.
public final class Prefetcher<Element: Sendable>: Sendable {
    private let channel: Channel

    /// Starts `produce` on a new thread; it calls `emit` for each item and should return when `emit` returns false.
    public init(capacity: Int, produce: @escaping @Sendable (_ emit: (Element) -> Bool) throws -> Void) {
        let channel = Channel(capacity: max(capacity, 1))
        self.channel = channel
        let thread = Thread {
            do {
                try produce { channel.put($0) }
                channel.close(failure: nil)
            } catch {
                channel.close(failure: error)
            }
        }
        thread.name = "cnclip-prefetch"
        thread.start()
    }

    deinit { channel.cancel() }

    /// The next item in production order; nil once the producer has finished. Rethrows the producer's error.
    public func next() throws -> Element? { try channel.take() }

    /// Tells the producer to stop (its next `emit` returns false) and drops the queued items.
    public func cancel() { channel.cancel() }

    /// The bounded queue between the two threads; every field is guarded by `condition`.
    private final class Channel: @unchecked Sendable {
        private let condition = NSCondition()
        private let capacity: Int
        private var items: [Element] = []
        private var closed = false
        private var cancelled = false
        private var failure: Error?

        init(capacity: Int) { self.capacity = capacity }

        func put(_ item: Element) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while items.count >= capacity && !cancelled { condition.wait() }
            if cancelled { return false }
            items.append(item)
            condition.broadcast()
            return true
        }

        func close(failure: Error?) {
            condition.lock()
            defer { condition.unlock() }
            closed = true
            self.failure = failure
            condition.broadcast()
        }

        func cancel() {
            condition.lock()
            defer { condition.unlock() }
            cancelled = true
            items.removeAll()
            condition.broadcast()
        }

        func take() throws -> Element? {
            condition.lock()
            defer { condition.unlock() }
            while items.isEmpty && !closed && !cancelled { condition.wait() }
            if !items.isEmpty {
                let item = items.removeFirst()
                condition.broadcast()
                return item
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            return nil
        }
    }
}
