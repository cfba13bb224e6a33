import Foundation

/// One indexed image as the service shows it.
public struct IndexedImage: Sendable, Equatable {
    public let id: Int64
    public let path: String
    public let width: Int
    public let height: Int

    public init(id: Int64, path: String, width: Int, height: Int) {
        self.id = id
        self.path = path
        self.width = width
        self.height = height
    }
}

/// A search result: an image and its cosine similarity to the query.
public struct ScoredImage: Sendable, Equatable {
    public let image: IndexedImage
    public let score: Float

    public init(image: IndexedImage, score: Float) {
        self.image = image
        self.score = score
    }
}

/// What `/api/info` and the web page show about the index.
public struct IndexSummary: Sendable, Codable, Equatable {
    /// Images searchable now.
    public var rows: Int
    /// Floats per feature.
    public var dimension: Int
    /// The model the index was built with (vision and text tower names).
    public var model: String
    /// The checkpoint's content hash the index was built with, when recorded.
    public var checkpoint: String?
    /// Bytes on disk (database and features).
    public var bytesOnDisk: Int64?
    /// The index directory.
    public var directory: String

    public init(rows: Int, dimension: Int, model: String, checkpoint: String?, bytesOnDisk: Int64?, directory: String) {
        self.rows = rows
        self.dimension = dimension
        self.model = model
        self.checkpoint = checkpoint
        self.bytesOnDisk = bytesOnDisk
        self.directory = directory
    }
}

/// The read-only index the service searches (implemented over `SearchIndex.ImageIndex`).
public protocol SearchBackend: Sendable {
    /// The index's current size and model.
    func summary() throws -> IndexSummary
    /// The `k` best images for a unit-length `query` after skipping `offset`, best first, scores at least `threshold`.
    func search(_ query: [Float], k: Int, threshold: Float?, offset: Int) throws -> [ScoredImage]
    /// `search` for several queries at once (one pass over the features for all of them).
    func search(batch queries: [[Float]], k: Int, threshold: Float?, offset: Int) throws -> [[ScoredImage]]
    /// The image with `id`, or nil.
    func image(id: Int64) throws -> IndexedImage?
    /// The stored feature of `id`, or nil.
    func feature(id: Int64) throws -> [Float]?
    /// Picks up rows committed since the last look; returns the row count after.
    func reload() throws -> Int
}

extension SearchBackend {
    /// One search per query, for backends without a batched search.
    public func search(batch queries: [[Float]], k: Int, threshold: Float?, offset: Int) throws -> [[ScoredImage]] {
        try queries.map { try search($0, k: k, threshold: threshold, offset: offset) }
    }
}
