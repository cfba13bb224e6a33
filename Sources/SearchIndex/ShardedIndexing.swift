import Dataset
import Distributed
import Foundation
import Imaging
import Retrieval
import Tensor

/// `mpirun -np N cnclip index add`: the ranks share the reading, decoding and embedding, and rank 0 alone owns the
/// index. Rank 0 lists the work (file stamps against the records, or dataset ids: the same list one process makes) and
/// hands it out in rounds of N chunks of `batchSize` images, chunk r to rank r (itself included); each rank reads,
/// hashes, decodes and embeds its chunk as one batch and sends back the outcome of every image with the features, and
/// rank 0 commits the round's images in list order. Each round is announced one round ahead, so every rank decodes
/// its next chunk on a second thread while it embeds the current one (as one process's prefetch thread does).
/// The index therefore holds the same records in the same rows as one process's, and for a new folder whose every
/// image decodes (each chunk then forms the batch one process would) the same feature bytes. Rank 0 holds at most two
/// rounds. Files must be readable at the same paths on every rank; LMDB images are read by id on each rank; a TSV's
/// base64 lines travel from rank 0.
extension ImageIndexer {
    func runSharded(total: Int, options: Options, group: Communicator, summary: inout Summary,
                    produce: @escaping @Sendable (_ emit: (IndexWork) -> Bool) throws -> Void) throws {
        let worker = IndexShardWorker(embedder: try requireEmbedder(), group: group)
        let chunkSize = options.batchSize, ranks = group.worldSize
        let prefetcher = Prefetcher<IndexWork>(capacity: 2 * chunkSize * ranks, produce: produce)
        var done = 0, exhausted = false
        summary.shares = Array(repeating: 0, count: ranks)
        progress(0, total)
        while true {
            var chunks: [[IndexWork]] = []
            while chunks.count < ranks {
                var chunk: [IndexWork] = []
                while !exhausted && chunk.count < chunkSize {
                    if let work = try prefetcher.next() { chunk.append(work) } else { exhausted = true }
                }
                chunks.append(chunk)
            }
            let hasWork = chunks.contains { !$0.isEmpty }
            // Announces this round and returns the previous one's replies.
            if let replies = try worker.exchange(next: hasWork ? chunks : nil) {
                var entries: [IndexWriter.Entry] = []
                for (rank, reply) in replies.enumerated() {
                    summary.shares?[rank] += reply.outcomes.count
                    var row = 0
                    for outcome in reply.outcomes {
                        switch outcome {
                        case .image(let pending):
                            entries.append(IndexWriter.Entry(pending: pending,
                                                             feature: reply.features[(row * reply.dimension)..<((row + 1) * reply.dimension)]))
                            row += 1
                            summary.embedded += 1
                        case .settled(let settled):
                            try record(settled, in: &summary)
                        }
                    }
                    done += reply.outcomes.count
                }
                if !entries.isEmpty { try writer.commit(entries) }
                progress(done, total)
            }
            if !hasWork { return }
        }
    }
}

/// The side of a sharded `index add` every rank runs: rank 0 drives rounds through `ImageIndexer` (with
/// `Options.shards`) and ends the job with `finish()`; the other ranks call `serve()`, which processes rounds until
/// then. Every message is a broadcast from rank 0 and every reply a gather to it, so a rank that fails aborts the
/// whole job (`ProcessGroup.run`) rather than leaving the others waiting.
public final class IndexShardWorker {
    let embedder: any ImageEmbedder
    let group: Communicator
    /// This rank's chunk of the last round announced, being read and decoded on its own thread.
    private var pending: Prefetcher<ImageIndexer.Prepared>?

    public init(embedder: any ImageEmbedder, group: Communicator) {
        self.embedder = embedder
        self.group = group
    }

    /// What rank 0 broadcasts: the next round's chunks (one per rank), no further round for now (`drain`: finish the
    /// pending one), or the end of the job.
    enum Message: Codable {
        case round([[ImageIndexer.IndexWork]])
        case drain
        case finish
    }

    /// What a rank did with one image of its chunk: embedded it (its feature follows in the reply), or settled it.
    enum Outcome: Codable {
        case image(IndexWriter.PendingImage)
        case settled(ImageIndexer.Settled)
    }

    /// A rank's reply: the outcome of each image of its chunk, in order, and the features of the embedded ones.
    struct Reply {
        let outcomes: [Outcome]
        let dimension: Int
        let features: [Float]

        /// Little-endian: the outcomes' JSON length (8 bytes), the JSON, then the features as fp32.
        func encoded() throws -> [UInt8] {
            let json = try JSONEncoder().encode(outcomes)
            var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
            bytes += json
            features.withUnsafeBytes { bytes += $0 }
            return bytes
        }

        init(outcomes: [Outcome], dimension: Int, features: [Float]) {
            self.outcomes = outcomes
            self.dimension = dimension
            self.features = features
        }

        init(decoding bytes: [UInt8], dimension: Int, rank: Int) throws {
            func malformed(_ reason: String) -> IndexError {
                IndexError.io(path: "rank \(rank)", reason: "malformed index shard reply: \(reason)")
            }
            guard bytes.count >= 8 else { throw malformed("\(bytes.count) bytes") }
            let length = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            guard length >= 0, 8 + length <= bytes.count else { throw malformed("JSON length \(length)") }
            outcomes = try JSONDecoder().decode([Outcome].self, from: Data(bytes[8..<(8 + length)]))
            let floatBytes = bytes.count - 8 - length
            let images = outcomes.filter { if case .image = $0 { return true } else { return false } }.count
            guard floatBytes == images * dimension * MemoryLayout<Float>.size else {
                throw malformed("\(floatBytes) feature bytes for \(images) images of dimension \(dimension)")
            }
            var values = [Float](repeating: 0, count: images * dimension)
            values.withUnsafeMutableBytes { destination in
                bytes[(8 + length)...].withUnsafeBytes { destination.copyMemory(from: $0) }
            }
            features = values
            self.dimension = dimension
        }
    }

    /// Ranks other than 0: processes the chunks rank 0 hands out until it ends the job.
    public func serve() throws {
        while true {
            let message = try JSONDecoder().decode(Message.self, from: Data(try group.broadcast([], root: 0)))
            var next: Prefetcher<ImageIndexer.Prepared>?
            switch message {
            case .finish:
                guard pending == nil else { throw IndexError.io(path: "rank 0", reason: "the job ended with a round in flight") }
                return
            case .drain:
                next = nil
            case .round(let chunks):
                guard chunks.count == group.worldSize else {
                    throw IndexError.io(path: "rank 0", reason: "a round of \(chunks.count) chunks for \(group.worldSize) ranks")
                }
                next = startPreparing(chunks[group.rank])
            }
            if let current = pending { _ = try group.gather(try embed(current).encoded(), root: 0) }
            pending = next
        }
    }

    /// Rank 0: ends the other ranks' `serve()`.
    public func finish() throws {
        _ = try group.broadcast(Array(try JSONEncoder().encode(Message.finish)), root: 0)
    }

    /// Rank 0: announces the next round (nil: none for now), starts reading its own chunk of it, then embeds its chunk
    /// of the previous round and returns every rank's replies to that round in rank order (nil when there was none).
    func exchange(next chunks: [[ImageIndexer.IndexWork]]?) throws -> [Reply]? {
        _ = try group.broadcast(Array(try JSONEncoder().encode(chunks.map { Message.round($0) } ?? .drain)), root: 0)
        let next = chunks.map { startPreparing($0[0]) }
        defer { pending = next }
        guard let current = pending else { return nil }
        let own = try embed(current)
        guard let replies = try group.gather(try own.encoded(), root: 0) else {
            throw IndexError.io(path: "rank 0", reason: "the gather of index shard replies returned nothing")
        }
        return try replies.enumerated().map { rank, bytes in
            rank == 0 ? own : try Reply(decoding: bytes, dimension: embedder.dimension, rank: rank)
        }
    }

    /// Reads, hashes, decodes and preprocesses `chunk` on a thread of its own.
    func startPreparing(_ chunk: [ImageIndexer.IndexWork]) -> Prefetcher<ImageIndexer.Prepared> {
        let preprocessor = embedder.preprocessor
        return Prefetcher(capacity: max(chunk.count, 1)) { emit in
            var lmdb: [String: LMDBImagesReader] = [:]
            for work in chunk {
                guard emit(ImageIndexer.prepare(work, preprocessor: preprocessor, lmdb: &lmdb)) else { return }
            }
        }
    }

    /// Embeds a prepared chunk (its images as one batch) and says what became of each image.
    func embed(_ prepared: Prefetcher<ImageIndexer.Prepared>) throws -> Reply {
        var outcomes: [Outcome] = []
        var images: [PreprocessedImage] = []
        while let item = try prepared.next() {
            switch item {
            case .image(let pending, let image):
                outcomes.append(.image(pending))
                images.append(image)
            case .settled(.failure(let failure)):
                // Which rank failed matters when only some machines see the files (storage not shared).
                outcomes.append(.settled(.failure(ImageIndexer.Failure(
                    path: failure.path, reason: failure.reason + " (on rank \(group.rank) of \(group.worldSize), \(group.hostName))"))))
            case .settled(let settled):
                outcomes.append(.settled(settled))
            }
        }
        return Reply(outcomes: outcomes, dimension: embedder.dimension, features: try embedder.embed(batchOf: images))
    }
}

extension ImageEmbedder {
    /// The features of `images` embedded as one `[N, 3, R, R]` batch (none for an empty list).
    func embed(batchOf images: [PreprocessedImage]) throws -> [Float] {
        guard !images.isEmpty else { return [] }
        let resolution = preprocessor.resolution
        let plane = 3 * resolution * resolution
        let batch = Tensor(zeros: [images.count, 3, resolution, resolution])
        for (index, image) in images.enumerated() {
            image.tensor.contiguous().copyElements(to: batch.storage.pointer + index * plane)
        }
        return try embed(batch)
    }
}
