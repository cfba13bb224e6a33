import Foundation

/// One search result: an indexed image and its cosine score against the query.
public struct SearchHit: Sendable, Equatable, Codable {
    /// The image's id in the index (a dataset's image id for images imported from an LMDB or TSV).
    public let id: Int64
    /// The file path (or `lmdb:DIR#ID` / `tsv:FILE#ID` for imported dataset images).
    public let path: String
    /// Inner product of the normalised query and image features (cosine similarity).
    public let score: Float
    public let width: Int
    public let height: Int

    public init(id: Int64, path: String, score: Float, width: Int, height: Int) {
        self.id = id
        self.path = path
        self.score = score
        self.width = width
        self.height = height
    }
}

/// What the index stores about one image.
public struct ImageRecord: Sendable, Equatable, Codable {
    public let id: Int64
    /// Row of its feature in the feature file.
    public let row: Int64
    /// The file path as given to `index add` (made absolute), or a dataset pseudo-path.
    public let path: String
    /// File size in bytes.
    public let size: Int64
    /// File modification time, nanoseconds since 1970.
    public let mtimeNanoseconds: Int64
    /// SHA-256 of the file's bytes, lower-case hex.
    public let contentHash: String
    public let width: Int
    public let height: Int
    /// When the image was embedded, seconds since 1970.
    public let addedAt: Double

    public init(id: Int64, row: Int64, path: String, size: Int64, mtimeNanoseconds: Int64, contentHash: String,
                width: Int, height: Int, addedAt: Double) {
        self.id = id
        self.row = row
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.contentHash = contentHash
        self.width = width
        self.height = height
        self.addedAt = addedAt
    }
}

/// How feature rows are stored on disk.
public enum FeatureDType: String, Sendable, Codable, CaseIterable {
    case float32
    case float16

    /// Bytes per value.
    public var byteWidth: Int { self == .float32 ? 4 : 2 }
}

/// The model an index was built with; an index refuses to be used with another.
public struct ModelIdentity: Sendable, Equatable, Codable {
    public let visionModel: String
    public let textModel: String
    /// The merged vision + text config as JSON with sorted keys.
    public let configJSON: String
    /// The checkpoint's path when the index was created (informational).
    public let checkpointPath: String
    /// SHA-256 of the checkpoint file, lower-case hex.
    public let checkpointHash: String

    public init(visionModel: String, textModel: String, configJSON: String, checkpointPath: String, checkpointHash: String) {
        self.visionModel = visionModel
        self.textModel = textModel
        self.configJSON = configJSON
        self.checkpointPath = checkpointPath
        self.checkpointHash = checkpointHash
    }

    /// Same architecture and weights (paths may differ).
    public func matches(_ other: ModelIdentity) -> Bool {
        visionModel == other.visionModel && textModel == other.textModel && configJSON == other.configJSON
            && checkpointHash == other.checkpointHash
    }

    /// `vision + text (checkpoint PATH, sha256 PREFIX…)`, for messages.
    public var summary: String {
        "\(visionModel) + \(textModel) (checkpoint \(checkpointPath), sha256 \(checkpointHash.prefix(12))…)"
    }
}

/// Which search an `ImageIndex.search` runs.
public enum SearchMode: String, Sendable, Codable {
    /// The approximate index when one is built, else exact.
    case automatic
    /// Exact inner products over every live row.
    case exact
    /// The approximate index (an error when none is built).
    case approximate
}

/// The kinds of approximate index.
public enum ANNKind: String, Sendable, Codable, CaseIterable {
    /// faiss `IndexHNSWFlat` (inner product).
    case hnsw
    /// faiss `IndexIVFFlat` (inner product).
    case ivf

    /// The search breadth (HNSW efSearch, IVF nprobe) used before one is tuned.
    public var defaultBreadth: Int { self == .hnsw ? 128 : 32 }

    /// The breadths `build-ann` tries, narrowest first, when it looks for the smallest that reaches a target
    /// recall: efSearch from 16 to 2048; nprobe from 1 up to every list of an index with `lists` lists.
    public func candidateBreadths(lists: Int) -> [Int] {
        switch self {
        case .hnsw: return [16, 32, 64, 128, 256, 512, 1024, 2048]
        case .ivf:
            var breadths = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter { $0 < lists }
            breadths.append(max(lists, 1))
            return breadths
        }
    }
}

/// The approximate index's state.
public struct ANNInfo: Sendable, Equatable, Codable {
    public let kind: ANNKind
    /// Feature rows [0, rows) it covers; later rows are searched exactly and merged.
    public let rows: Int
    /// Bytes of its file.
    public let bytes: Int64
    /// The search breadth it runs with (HNSW efSearch or IVF nprobe).
    public let breadth: Int
    /// Recall@10 against exact search measured at that breadth when it was last written (nil before any).
    public let recallAt10: Double?
}

/// A summary of an index, for `index status` and the service's statistics.
public struct IndexInfo: Sendable, Equatable, Codable {
    public let directory: String
    public let model: ModelIdentity
    /// Feature dimension.
    public let dimension: Int
    public let dtype: FeatureDType
    /// Live images (searchable).
    public let count: Int
    /// Feature rows on disk, live and removed (tombstoned) together.
    public let rows: Int
    /// Bytes of the database, its WAL, the feature file and the approximate index.
    public let bytesOnDisk: Int64
    /// The approximate index, when one is built.
    public let ann: ANNInfo?
}
