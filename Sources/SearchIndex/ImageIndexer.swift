import Dataset
import Distributed
import Foundation
import Imaging
import Retrieval
import Tensor

/// Adds images to an index directory (creating it), re-embedding only what changed, and removes them.
///
/// A file whose size and mtime match its record is skipped without reading it; otherwise it is read and hashed, and
/// only re-embedded when its SHA-256 differs (same bytes: the new size/mtime are recorded). Decoding and hashing run
/// on a prefetch thread while the model embeds the previous batch. Every batch is committed on its own (features
/// appended and fsynced, then one SQLite transaction), so a killed run loses at most the batch in flight and a
/// re-run resumes: committed images are then unchanged files.
///
/// Removal keeps row alignment with tombstones: a removed image's record is deleted and its feature row stays in the
/// file, unused (searches skip it; `IndexInfo.rows - count` is the number of dead rows). A changed file keeps its id
/// and moves to a new row. The approximate index, when there is one, gets new rows added and is rebuilt when rows
/// died since it was built.
public final class ImageIndexer {
    /// What an `add` run did.
    public struct Summary: Sendable, Codable, Equatable {
        /// Images found (files, or dataset entries).
        public var found = 0
        /// Skipped: same size and mtime, or same bytes.
        public var unchanged = 0
        /// Embedded and committed (new or changed).
        public var embedded = 0
        /// Same bytes under a new size/mtime: recorded without re-embedding.
        public var touched = 0
        /// Could not be read or decoded: path and reason.
        public var failed: [Failure] = []
        /// Records dropped by `--prune` (files that vanished).
        public var pruned = 0
        /// The approximate index after the run, if any.
        public var ann: ANNReport?
        /// Under `mpirun`: how many images each rank read, by rank (nil for one process).
        public var shares: [Int]?

        public init() {}
    }

    /// An image that could not be indexed.
    public struct Failure: Sendable, Codable, Equatable {
        public let path: String
        public let reason: String
    }

    /// Options of an `add` run.
    public struct Options: Sendable {
        /// Images per forward pass (and per commit).
        public var batchSize = 32
        /// Drop records of files that no longer exist (only under the folders given, for file sources).
        public var prune = false
        /// Build or keep an approximate index of this kind.
        public var ann: ANNKind?
        /// Build an approximate index (IVF-Flat) automatically from this many rows on. IVF rather than HNSW: it
        /// trains on a sample and assigns rows with BLAS, where HNSW inserts row by row through faiss's distance code,
        /// which Debian's build compiles without SIMD (a 100k × 512 HNSW build ran past 14 minutes on 2 cores).
        public var automaticANNRows = 1_000_000
        /// The ranks of an `mpirun` job sharing the reading and embedding (see `runSharded`); nil or a group of one
        /// for a single process. Only rank 0 opens the index.
        public var shards: Communicator?
        public init() {}
    }

    public let directory: URL
    /// The model's image tower; nil for an indexer opened only to remove or to build the approximate index.
    public let embedder: (any ImageEmbedder)?
    let writer: IndexWriter
    /// Called with each line worth telling the user (failures), and progress updates.
    public var log: (String) -> Void = { _ in }
    public var progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }

    /// Opens (or creates) the index of `directory` for `model`, storing new features as `dtype` when it is created.
    /// - Throws: `IndexError.modelMismatch` naming both models, `.io` when another writer is running.
    public init(directory: URL, embedder: any ImageEmbedder, model: ModelIdentity, dtype: FeatureDType = .float32) throws {
        self.directory = directory
        self.embedder = embedder
        writer = try IndexWriter(directory: directory, model: model, dimension: embedder.dimension, dtype: dtype)
    }

    /// Opens an existing index without a model: for `remove` and `buildANN` (`add` then throws).
    /// - Throws: `IndexError.notAnIndex`, `.io` when another writer is running.
    public init(existing directory: URL) throws {
        self.directory = directory
        embedder = nil
        writer = try IndexWriter(existing: directory)
    }

    /// The model's embedder, or an error for an indexer opened without one.
    func requireEmbedder() throws -> any ImageEmbedder {
        guard let embedder else { throw IndexError.invalidQuery(reason: "this indexer was opened without a model") }
        return embedder
    }

    /// The model identity of `config` + checkpoint, hashing the checkpoint file.
    public static func identity(visionModel: String, textModel: String, configJSON: String, checkpoint: URL) throws -> ModelIdentity {
        ModelIdentity(visionModel: visionModel, textModel: textModel, configJSON: configJSON,
                      checkpointPath: checkpoint.standardizedFileURL.path, checkpointHash: try ContentHash.sha256(fileAt: checkpoint.path))
    }

    /// Adds (or refreshes) the image files under `paths` (files and folders, walked recursively).
    public func add(paths: [String], options: Options = Options()) throws -> Summary {
        let files = try ImageFiles.find(paths)
        let known = Dictionary(try writer.database.allRecords().map { ($0.path, $0) }, uniquingKeysWith: { $1 })
        var summary = Summary()
        summary.found = files.count
        var jobs: [IndexWork] = []
        for path in files {
            guard let stamp = ImageFiles.stamp(path) else {
                jobs.append(IndexWork(source: .file, path: path, id: nil, size: -1, mtime: 0, existing: known[path]))
                continue
            }
            if let record = known[path], record.size == stamp.size, record.mtimeNanoseconds == stamp.mtime {
                summary.unchanged += 1
            } else {
                jobs.append(IndexWork(source: .file, path: path, id: nil, size: stamp.size, mtime: stamp.mtime,
                                      existing: known[path]))
            }
        }
        let queued = jobs
        try run(total: jobs.count, options: options, summary: &summary) { emit in
            for job in queued {
                guard emit(job) else { return }
            }
        }
        if options.prune {
            let roots = paths.map(ImageFiles.absolute)
            let vanished = known.values.filter { record in
                !record.path.hasPrefix("lmdb:") && !record.path.hasPrefix("tsv:")
                    && roots.contains { record.path == $0 || record.path.hasPrefix($0 + "/") }
                    && !FileManager.default.fileExists(atPath: record.path)
            }
            summary.pruned = try writer.remove(ids: vanished.map(\.id))
        }
        summary.ann = try maintainANN(options: options)
        return summary
    }

    /// Adds images whose features were computed elsewhere (normalised, `paths.count × dimension` values), for
    /// imports of feature files and for benchmarks over synthetic galleries. Records get size 0, no hash, no mtime,
    /// and `width`/`height` as given. Committed in chunks of 65,536. Returns the new ids in order.
    public func add(precomputed features: [Float], paths: [String], width: Int = 0, height: Int = 0) throws -> [Int64] {
        let dimension = writer.dimension
        guard features.count == paths.count * dimension else {
            throw IndexError.invalidQuery(reason: "\(features.count) values for \(paths.count) paths of dimension \(dimension)")
        }
        var ids: [Int64] = []
        for start in stride(from: 0, to: paths.count, by: 65_536) {
            let end = min(start + 65_536, paths.count)
            ids += try writer.commit((start..<end).map { row in
                IndexWriter.Entry(pending: IndexWriter.PendingImage(id: nil, path: paths[row], size: 0, mtimeNanoseconds: 0,
                                                                    contentHash: "", width: width, height: height),
                                  feature: features[(row * dimension)..<((row + 1) * dimension)])
            })
        }
        return ids
    }

    /// Removes the images at `paths` (a folder removes everything under it; removed files need not exist any more).
    /// Returns how many records were removed.
    public func remove(paths: [String]) throws -> Int {
        let roots = paths.map(ImageFiles.absolute)
        let records = try writer.database.allRecords()
        let ids = records.filter { record in roots.contains { record.path == $0 || record.path.hasPrefix($0 + "/") } }.map(\.id)
        let removed = try writer.remove(ids: ids)
        _ = try maintainANN(options: Options())
        return removed
    }

    /// Builds (or rebuilds) the approximate index of `kind` now and chooses its search breadth; returns its report
    /// with recall@10 against exact search.
    /// - Parameter tuning: how to choose the breadth; nil keeps the way recorded in the index (default: the
    ///   narrowest breadth with recall@10 ≥ 0.95). Later `add`s keep tuning this way.
    public func buildANN(kind: ANNKind, tuning: ANNTuning? = nil) throws -> ANNReport {
        try ANNMaintenance(directory: directory, writer: writer).update(kind: kind, forceRebuild: true, tuning: tuning)
    }

    func maintainANN(options: Options) throws -> ANNReport? {
        let maintenance = ANNMaintenance(directory: directory, writer: writer)
        let meta = try writer.database.meta()
        let existing = meta[MetaKey.annKind].flatMap(ANNKind.init(rawValue:))
        let kind = options.ann ?? existing ?? (writer.committedRows >= options.automaticANNRows ? .ivf : nil)
        guard let kind else { return nil }
        return try maintenance.update(kind: kind, forceRebuild: existing != kind)
    }

    // MARK: the pipeline

    /// One image to look at: where its bytes are, the path it is recorded under (a file path or a dataset
    /// pseudo-path), its dataset id, its stamp (file size, -1 when it could not be stat-ed, and mtime; 0 for
    /// dataset images) and its current record.
    struct IndexWork: Sendable, Codable {
        enum Source: Sendable, Codable {
            /// The file at `path`.
            case file
            /// The entry `id` of the LMDB `imgs` database in this folder.
            case lmdb(folder: String)
            /// These base64 bytes (a TSV line's).
            case base64(String)
        }

        let source: Source
        let path: String
        let id: Int64?
        let size: Int64
        let mtime: Int64
        let existing: ImageRecord?
    }

    /// What became of an image that needs no embedding.
    enum Settled: Sendable, Codable {
        /// Same bytes under a new size/mtime: re-stamped.
        case sameBytes(id: Int64, size: Int64, mtime: Int64)
        case unchanged
        case failure(Failure)
    }

    /// What the prefetch thread hands to the model thread: an image to embed, or one already settled.
    enum Prepared: Sendable {
        case image(IndexWriter.PendingImage, PreprocessedImage)
        case settled(Settled)
    }

    /// Records a settled image: the new stamp in the index, the count (and the reason of a failure) in `summary`.
    func record(_ settled: Settled, in summary: inout Summary) throws {
        switch settled {
        case .sameBytes(let id, let size, let mtime):
            try writer.touch(id: id, size: size, mtimeNanoseconds: mtime)
            summary.touched += 1
        case .unchanged:
            summary.unchanged += 1
        case .failure(let failure):
            log("skipped \(failure.path): \(failure.reason)")
            summary.failed.append(failure)
        }
    }

    /// Reads, hashes, decodes and preprocesses one image; `lmdb` keeps the databases opened so far.
    static func prepare(_ work: IndexWork, preprocessor: ImagePreprocessor, lmdb: inout [String: LMDBImagesReader]) -> Prepared {
        let base64: String
        switch work.source {
        case .file:
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: work.path), options: .mappedIfSafe)
            } catch {
                return .settled(.failure(Failure(path: work.path, reason: "cannot read: \(error.localizedDescription)")))
            }
            return prepare(data: data, path: work.path, id: nil, size: work.size < 0 ? Int64(data.count) : work.size,
                           mtime: work.mtime, existing: work.existing, preprocessor: preprocessor)
        case .base64(let text):
            base64 = text
        case .lmdb(let folder):
            do {
                let reader = try lmdb[folder] ?? LMDBImagesReader(path: folder)
                lmdb[folder] = reader
                base64 = try reader.base64(forImageId: work.id ?? -1)
            } catch {
                return .settled(.failure(Failure(path: work.path, reason: "\(error)")))
            }
        }
        switch ImageBase64.decode(base64.utf8) {
        case .failure(let error):
            return .settled(.failure(Failure(path: work.path, reason: "base64: \(error.reason)")))
        case .success(let data):
            return prepare(data: data, path: work.path, id: work.id, size: Int64(data.count), mtime: 0,
                           existing: work.existing, preprocessor: preprocessor)
        }
    }

    static func prepare(data: Data, path: String, id: Int64?, size: Int64, mtime: Int64, existing: ImageRecord?,
                        preprocessor: ImagePreprocessor) -> Prepared {
        let hash = ContentHash.sha256(data)
        if let existing, existing.contentHash == hash {
            if existing.size == size && existing.mtimeNanoseconds == mtime { return .settled(.unchanged) }
            return .settled(.sameBytes(id: existing.id, size: size, mtime: mtime))
        }
        do {
            let decoded = try ImageDecoder.decode(data, name: path)
            let image = try preprocessor.preprocess(decoded)
            return .image(IndexWriter.PendingImage(id: id ?? existing?.id, path: path, size: size, mtimeNanoseconds: mtime,
                                                   contentHash: hash, width: decoded.width, height: decoded.height), image)
        } catch {
            // Decoder messages start with the name they were given; the failure names the path once.
            let message = "\(error)"
            let reason = message.hasPrefix(path + ": ") ? String(message.dropFirst(path.count + 2)) : message
            return .settled(.failure(Failure(path: path, reason: reason)))
        }
    }

    /// Runs `produce` on a prefetch thread, which also reads and decodes each image it yields, and embeds and
    /// commits them batch by batch; with `options.shards` spanning several ranks, `runSharded` shares the work out.
    func run(total: Int, options: Options, summary: inout Summary,
             produce: @escaping @Sendable (_ emit: (IndexWork) -> Bool) throws -> Void) throws {
        if let shards = options.shards, shards.isDistributed {
            return try runSharded(total: total, options: options, group: shards, summary: &summary, produce: produce)
        }
        let embedder = try requireEmbedder()
        let preprocessor = embedder.preprocessor
        let prefetcher = Prefetcher<Prepared>(capacity: max(2 * options.batchSize, 8)) { emit in
            var lmdb: [String: LMDBImagesReader] = [:]
            try produce { work in emit(Self.prepare(work, preprocessor: preprocessor, lmdb: &lmdb)) }
        }
        var pending: [(IndexWriter.PendingImage, PreprocessedImage)] = []
        var done = 0
        progress(0, total)
        func flush() throws {
            guard !pending.isEmpty else { return }
            let features = try embedder.embed(batchOf: pending.map(\.1))
            let dimension = embedder.dimension
            try writer.commit(pending.enumerated().map { index, item in
                IndexWriter.Entry(pending: item.0, feature: features[(index * dimension)..<((index + 1) * dimension)])
            })
            summary.embedded += pending.count
            done += pending.count
            pending.removeAll(keepingCapacity: true)
            progress(done, total)
        }
        while let item = try prefetcher.next() {
            switch item {
            case .image(let record, let image):
                pending.append((record, image))
                if pending.count >= options.batchSize { try flush() }
            case .settled(let settled):
                try record(settled, in: &summary)
                done += 1
                progress(done, total)
            }
        }
        try flush()
    }
}
