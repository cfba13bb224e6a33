import Foundation

/// Index searches of concurrent requests, batched: queries that meet in the queue are answered by one batched
/// search (one pass over the feature matrix) on a queue of their own, beside the model's.
final class SearchQueue: Sendable {
    struct Query: Sendable {
        let feature: [Float]
        let parameters: SearchParameters
    }

    private let backend: any SearchBackend
    private let batcher: Batcher<Query, [ScoredImage]>
    private let queue = DispatchQueue(label: "cnclip.search.index")

    init(backend: any SearchBackend, window: Duration, maxBatch: Int, metrics: ServiceMetrics) {
        self.backend = backend
        let queue = self.queue
        batcher = Batcher(window: window, maxBatch: maxBatch,
                          depth: { metrics.queueDepth(kind: "search").set(Double($0)) }) { queries in
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try Self.run(queries, on: backend) }) }
            }
        }
    }

    /// The page of results for one query.
    func search(_ feature: [Float], _ parameters: SearchParameters) async throws -> [ScoredImage] {
        try await batcher.submit(Query(feature: feature, parameters: parameters))
    }

    /// One batched search for all `queries`: the top `max(offset + k)` without a threshold, then each query's own
    /// page and threshold cut from its ranking (a prefix of a longer ranking is the shorter ranking).
    static func run(_ queries: [Query], on backend: any SearchBackend) throws -> [[ScoredImage]] {
        let depth = queries.map { $0.parameters.offset + $0.parameters.k }.max() ?? 0
        let rankings = try backend.search(batch: queries.map(\.feature), k: depth, threshold: nil, offset: 0)
        return zip(queries, rankings).map { query, ranking in
            let parameters = query.parameters
            let kept = ranking.filter { parameters.threshold == nil || $0.score >= parameters.threshold! }
            return Array(kept.dropFirst(parameters.offset).prefix(parameters.k))
        }
    }
}
