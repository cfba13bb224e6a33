import Foundation
import GRDB

/// The single writer of an index directory: holds `writer.lock` (flock) for its lifetime, appends feature rows and
/// commits their records. Each `commit` is one crash-safe step: rows appended and fsynced, then one SQLite
/// transaction that stores the records and the new row count.
final class IndexWriter {
    let directory: URL
    let database: IndexDatabase
    let features: FeatureFileWriter
    let model: ModelIdentity
    let dimension: Int
    let dtype: FeatureDType
    private let lockDescriptor: Int32

    /// A new or updated image's record fields (id nil = a new image gets the next free id).
    struct PendingImage: Sendable, Codable {
        var id: Int64?
        var path: String
        var size: Int64
        var mtimeNanoseconds: Int64
        var contentHash: String
        var width: Int
        var height: Int
    }

    /// A pending image with its feature, ready to commit.
    struct Entry {
        var pending: PendingImage
        var feature: ArraySlice<Float>
    }

    /// Opens the index of `directory` for writing, creating it for `model` when it has none.
    /// - Throws: `IndexError.modelMismatch` naming both models when the index was built with another one;
    ///   `.io` when another writer holds the directory.
    init(directory: URL, model: ModelIdentity, dimension: Int, dtype requestedType: FeatureDType) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw IndexError.io(path: directory.path, reason: "cannot create the index directory: \(error.localizedDescription)")
        }
        let lockPath = directory.appendingPathComponent("writer.lock").path
        lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else { throw IndexError.io(path: lockPath, reason: String(cString: strerror(errno))) }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(lockDescriptor)
            throw IndexError.io(path: directory.path, reason: "another `index add` or `index remove` is writing this index")
        }
        do {
            self.directory = directory
            database = try IndexDatabase(directory: directory, readOnly: false, create: true)
            var meta = try database.meta()
            if meta[MetaKey.dimension] == nil {
                meta = [MetaKey.formatVersion: String(IndexDatabase.formatVersion), MetaKey.visionModel: model.visionModel,
                        MetaKey.textModel: model.textModel, MetaKey.modelConfig: model.configJSON,
                        MetaKey.checkpointPath: model.checkpointPath, MetaKey.checkpointHash: model.checkpointHash,
                        MetaKey.dimension: String(dimension), MetaKey.dtype: requestedType.rawValue, MetaKey.rows: "0"]
                try database.setMeta(meta)
            }
            let stored = ModelIdentity(visionModel: meta[MetaKey.visionModel] ?? "?", textModel: meta[MetaKey.textModel] ?? "?",
                                       configJSON: meta[MetaKey.modelConfig] ?? "", checkpointPath: meta[MetaKey.checkpointPath] ?? "?",
                                       checkpointHash: meta[MetaKey.checkpointHash] ?? "")
            guard stored.matches(model), meta[MetaKey.dimension] == String(dimension) else {
                throw IndexError.modelMismatch(directory: directory.path, index: stored.summary, requested: model.summary)
            }
            self.model = stored
            self.dimension = dimension
            dtype = FeatureDType(rawValue: meta[MetaKey.dtype] ?? "") ?? requestedType
            features = try FeatureFileWriter(path: ImageIndex.featurePath(directory: directory, dtype: dtype),
                                             dimension: dimension, dtype: dtype, committedRows: Int(meta[MetaKey.rows] ?? "0") ?? 0)
        } catch {
            close(lockDescriptor)
            throw error
        }
    }

    /// Opens an existing index for writing with the model it was built with (for removal and ANN maintenance).
    /// - Throws: `IndexError.notAnIndex` when `directory` holds none.
    convenience init(existing directory: URL) throws {
        let probe = try IndexDatabase(directory: directory, readOnly: true, create: false)
        let meta = try probe.meta()
        guard let dimension = Int(meta[MetaKey.dimension] ?? ""), let dtype = FeatureDType(rawValue: meta[MetaKey.dtype] ?? "") else {
            throw IndexError.corruptMetadata(directory: directory.path, key: MetaKey.dimension, reason: "missing")
        }
        let model = ModelIdentity(visionModel: meta[MetaKey.visionModel] ?? "?", textModel: meta[MetaKey.textModel] ?? "?",
                                  configJSON: meta[MetaKey.modelConfig] ?? "", checkpointPath: meta[MetaKey.checkpointPath] ?? "?",
                                  checkpointHash: meta[MetaKey.checkpointHash] ?? "")
        try self.init(directory: directory, model: model, dimension: dimension, dtype: dtype)
    }

    deinit { close(lockDescriptor) }

    var committedRows: Int { features.committedRows }

    /// Appends the entries' features and commits their records (new ones inserted, existing ids moved to their new
    /// rows, leaving the old rows as tombstones). Returns the ids, in entry order.
    @discardableResult
    func commit(_ entries: [Entry]) throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        var values: [Float] = []
        values.reserveCapacity(entries.count * dimension)
        for entry in entries {
            precondition(entry.feature.count == dimension)
            values += entry.feature
        }
        try features.appendUncommitted(values)
        let first = features.committedRows
        let newRows = first + entries.count
        let now = Date().timeIntervalSince1970
        let ids: [Int64] = try database.wrap {
            try database.pool.write { db in
                var ids: [Int64] = []
                var moved = false
                for (offset, full) in entries.enumerated() {
                    let entry = full.pending
                    let arguments: StatementArguments = [Int64(first + offset), entry.path, entry.size, entry.mtimeNanoseconds,
                                                         entry.contentHash, entry.width, entry.height, now]
                    if let id = entry.id,
                       try Int64.fetchOne(db, sql: "SELECT id FROM images WHERE id = ?", arguments: [id]) != nil {
                        if let holder = try String.fetchOne(db, sql: "SELECT path FROM images WHERE id = ? AND path != ?",
                                                            arguments: [id, entry.path]) {
                            throw IndexError.duplicateId(id: id, existing: holder, new: entry.path)
                        }
                        try db.execute(sql: """
                            UPDATE images SET row = ?, path = ?, size = ?, mtime_ns = ?, hash = ?, width = ?, height = ?,
                            added_at = ? WHERE id = ?
                            """, arguments: arguments + [id])
                        moved = true
                        ids.append(id)
                    } else {
                        if let existing = try Int64.fetchOne(db, sql: "SELECT id FROM images WHERE path = ?", arguments: [entry.path]) {
                            // The same path under another id (a changed file): it keeps its id.
                            try db.execute(sql: """
                                UPDATE images SET row = ?, path = ?, size = ?, mtime_ns = ?, hash = ?, width = ?, height = ?,
                                added_at = ? WHERE id = ?
                                """, arguments: arguments + [existing])
                            moved = true
                            ids.append(existing)
                            continue
                        }
                        try db.execute(sql: """
                            INSERT INTO images (id, row, path, size, mtime_ns, hash, width, height, added_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """, arguments: [entry.id] + arguments)
                        ids.append(db.lastInsertedRowID)
                    }
                }
                try IndexDatabase.setMeta([MetaKey.rows: String(newRows)], in: db)
                if moved { try IndexDatabase.bumpGeneration(in: db) }
                return ids
            }
        }
        features.markCommitted(rows: newRows)
        return ids
    }

    /// Records a new size and mtime for an image whose bytes did not change (no re-embedding).
    func touch(id: Int64, size: Int64, mtimeNanoseconds: Int64) throws {
        try database.wrap {
            try database.pool.write { db in
                try db.execute(sql: "UPDATE images SET size = ?, mtime_ns = ? WHERE id = ?", arguments: [size, mtimeNanoseconds, id])
            }
        }
    }

    /// Deletes the records of `ids`; their rows become tombstones. Returns how many existed.
    @discardableResult
    func remove(ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try database.wrap {
            try database.pool.write { db in
                var removed = 0
                for id in ids {
                    try db.execute(sql: "DELETE FROM images WHERE id = ?", arguments: [id])
                    removed += db.changesCount
                }
                if removed > 0 { try IndexDatabase.bumpGeneration(in: db) }
                return removed
            }
        }
    }
}
