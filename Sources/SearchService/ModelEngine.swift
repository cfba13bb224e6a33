import Foundation
import Imaging
import Models
import Tensor
import Tokenizer

/// The one model all requests share. Forward passes run one at a time on a dedicated serial queue (the engine
/// already spreads one pass over all cores): text queries reach it in batches through a `Batcher`, images one
/// per pass through a bounded `AdmissionGate`, so a burst of uploads queues (or is refused) instead of piling up.
final class ModelEngine: Sendable {
    /// The model, its preprocessing and tokenizer.
    let loaded: LoadedCLIP
    /// Token context length used for every text (the reference's default 52).
    let contextLength: Int
    /// The number of floats in one feature.
    var dimension: Int { loaded.model.config.embedDim }

    private let worker: ModelWorker
    private let batcher: Batcher<[Int], [Float]>
    private let imageGate: AdmissionGate
    private let metrics: ServiceMetrics

    init(loaded: LoadedCLIP, contextLength: Int, configuration: ServiceConfiguration, metrics: ServiceMetrics) {
        self.loaded = loaded
        self.contextLength = contextLength
        self.metrics = metrics
        let worker = ModelWorker(model: loaded.model)
        self.worker = worker
        self.imageGate = AdmissionGate(capacity: 1, maxWaiting: configuration.maxQueuedImages)
        self.batcher = Batcher(window: .milliseconds(configuration.batchWindowMilliseconds),
                               maxBatch: configuration.maxBatch,
                               depth: { metrics.queueDepth(kind: "text").set(Double($0)) }) { rows in
            metrics.textBatchSize.record(Double(rows.count))
            let flat = try await worker.run { model in l2Normalize(try model.encodeText(rows)).output.toArray() }
            let width = flat.count / max(rows.count, 1)
            return (0..<rows.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
        }
    }

    /// Token rows for `text` after the reference's preprocessing (lower-casing, quote folding).
    /// - Parameter truncate: when false, a text longer than the context refuses with 400 instead of being cut as
    ///   the reference's `tokenize` cuts it.
    func tokenRow(for text: String, truncate: Bool, maxCharacters: Int) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw APIError.badRequest("text is empty") }
        guard text.count <= maxCharacters else {
            throw APIError.badRequest("text is \(text.count) characters; at most \(maxCharacters) are accepted")
        }
        let prepared = preprocessText(text)
        if !truncate {
            let count = loaded.tokenizer.ids(for: prepared).count
            guard count <= contextLength - 2 else {
                throw APIError.badRequest("text is \(count) tokens; the model reads at most \(contextLength - 2)")
            }
        }
        return try loaded.tokenizer.tokenize(prepared, contextLength: contextLength)
    }

    /// L2-normalised text features, one per text; concurrent callers share forward passes.
    func embedTexts(_ texts: [String], truncate: Bool, maxCharacters: Int) async throws -> [[Float]] {
        let rows = try texts.map { try tokenRow(for: $0, truncate: truncate, maxCharacters: maxCharacters) }
        return try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, row) in rows.enumerated() {
                group.addTask { (index, try await self.batcher.submit(row)) }
            }
            var features = [[Float]](repeating: [], count: rows.count)
            for try await (index, feature) in group { features[index] = feature }
            return features
        }
    }

    /// The L2-normalised feature of one decoded image, after waiting for the image slot.
    func embedImage(_ image: DecodedImage) async throws -> [Float] {
        let input = try loaded.preprocessor.preprocess(image).tensor
        metrics.queueDepth(kind: "image").increment()
        let admitted: Bool
        do {
            admitted = try await imageGate.enter()
        } catch {
            metrics.queueDepth(kind: "image").decrement()
            throw error
        }
        metrics.queueDepth(kind: "image").decrement()
        guard admitted else {
            var error = APIError(.serviceUnavailable, "too many image queries are waiting for the model; retry shortly")
            error.headers[.retryAfter] = "1"
            throw error
        }
        defer { imageGate.leave() }
        let resolution = loaded.preprocessor.resolution
        let batch = try input.reshaped([1, 3, resolution, resolution])
        return try await worker.run { model in l2Normalize(try model.encodeImage(batch)).output.toArray() }
    }
}

/// The serial queue every forward pass runs on.
struct ModelWorker: Sendable {
    let model: CLIPModel
    private let queue = DispatchQueue(label: "cnclip.search.model")

    init(model: CLIPModel) { self.model = model }

    /// Runs `body` with the model on the queue and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (CLIPModel) throws -> T) async throws -> T {
        let model = self.model
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(model) }) }
        }
    }
}
