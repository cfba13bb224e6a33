import Foundation
import SearchIndex

/// The service's view of an on-disk `ImageIndex` (opened read-only).
public final class IndexBackend: SearchBackend {
    public let index: ImageIndex

    public init(_ index: ImageIndex) {
        self.index = index
    }

    public func summary() throws -> IndexSummary {
        let info = index.info
        return IndexSummary(rows: info.count, dimension: info.dimension,
                            model: "\(info.model.visionModel)@\(info.model.textModel)",
                            checkpoint: info.model.checkpointHash, bytesOnDisk: info.bytesOnDisk, directory: info.directory)
    }

    public func search(_ query: [Float], k: Int, threshold: Float?, offset: Int) throws -> [ScoredImage] {
        try search(batch: [query], k: k, threshold: threshold, offset: offset)[0]
    }

    public func search(batch queries: [[Float]], k: Int, threshold: Float?, offset: Int) throws -> [[ScoredImage]] {
        try index.search(batch: queries, k: k, threshold: threshold, offset: offset).map { hits in
            hits.map {
                ScoredImage(image: IndexedImage(id: $0.id, path: $0.path, width: $0.width, height: $0.height), score: $0.score)
            }
        }
    }

    public func image(id: Int64) throws -> IndexedImage? {
        index.record(id: id).map { IndexedImage(id: $0.id, path: $0.path, width: $0.width, height: $0.height) }
    }

    public func feature(id: Int64) throws -> [Float]? { index.feature(id: id) }

    public func reload() throws -> Int {
        try index.reload()
        return index.info.count
    }
}
