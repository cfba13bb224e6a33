import Foundation
import Hummingbird
import Logging

/// What every route handler shares: the model, the index, the limits and the metrics.
final class ServiceState: Sendable {
    let engine: ModelEngine
    let backend: any SearchBackend
    let configuration: ServiceConfiguration
    let metrics: ServiceMetrics
    let input: RequestInput
    let searches: SearchQueue
    let logger: Logger

    init(engine: ModelEngine, backend: any SearchBackend, configuration: ServiceConfiguration, metrics: ServiceMetrics,
         logger: Logger) {
        self.engine = engine
        self.backend = backend
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.searches = SearchQueue(backend: backend, window: .milliseconds(configuration.batchWindowMilliseconds),
                                    maxBatch: configuration.maxBatch, metrics: metrics)
        self.input = RequestInput(maxBytes: configuration.maxUploadBytes, timeout: configuration.requestTimeout,
                                  maxPixels: configuration.maxPixels)
    }

    /// Text features for the native API: an over-long text is refused (400), not cut.
    func embedTexts(_ texts: [String], truncate: Bool = false) async throws -> [[Float]] {
        try await engine.embedTexts(texts, truncate: truncate, maxCharacters: configuration.maxTextCharacters)
    }

    /// Checks a caller's embedding (dimension, finite values, not zero) and scales it to unit length.
    func unitQuery(_ embedding: [Float], field: String = "embedding") throws -> [Float] {
        guard embedding.count == engine.dimension else {
            throw APIError.badRequest("'\(field)' has \(embedding.count) values; this index's features have \(engine.dimension)")
        }
        guard embedding.allSatisfy(\.isFinite) else { throw APIError.badRequest("'\(field)' holds a value that is not finite") }
        let norm = embedding.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { throw APIError.badRequest("'\(field)' is all zeros") }
        return embedding.map { $0 / norm }
    }

    /// The indexed image with `id`, or 404.
    func image(id: Int64) throws -> IndexedImage {
        guard let image = try backend.image(id: id) else { throw APIError.notFound("no image with id \(id) in the index") }
        return image
    }
}

/// Paging and filtering of a search: `k` results after skipping `offset`, scores at least `threshold`.
struct SearchParameters: Sendable, Equatable {
    var k = 20
    var threshold: Float?
    var offset = 0

    /// Parameters from the query string (`k`, `threshold`, `offset`), each checked.
    init(query request: Request, maxK: Int) throws {
        self.init()
        try apply(fields: { request.uri.queryParameters[$0[...]].map(String.init) }, maxK: maxK)
    }

    /// Overrides with text fields (query string or form), each checked.
    mutating func apply(fields: (String) -> String?, maxK: Int) throws {
        try apply(k: fields("k").map { try Self.integer($0, name: "k") },
                  threshold: fields("threshold").map { try Self.number($0, name: "threshold") },
                  offset: fields("offset").map { try Self.integer($0, name: "offset") }, maxK: maxK)
    }

    init() {}

    /// Overrides with values given in a JSON body or form, checking ranges.
    mutating func apply(k: Int?, threshold: Float?, offset: Int?, maxK: Int) throws {
        if let k {
            guard (1...maxK).contains(k) else { throw APIError.badRequest("'k' must be within 1...\(maxK), got \(k)") }
            self.k = k
        }
        if let threshold {
            guard threshold.isFinite, (-1...1).contains(threshold) else {
                throw APIError.badRequest("'threshold' must be a cosine score within -1...1, got \(threshold)")
            }
            self.threshold = threshold
        }
        if let offset {
            guard (0...10_000_000).contains(offset) else {
                throw APIError.badRequest("'offset' must be within 0...10000000, got \(offset)")
            }
            self.offset = offset
        }
    }

    static func integer(_ text: String, name: String) throws -> Int {
        guard let value = Int(text) else { throw APIError.badRequest("'\(name)' must be an integer, got '\(text)'") }
        return value
    }

    static func number(_ text: String, name: String) throws -> Float {
        guard let value = Float(text), value.isFinite else {
            throw APIError.badRequest("'\(name)' must be a number, got '\(text)'")
        }
        return value
    }
}
