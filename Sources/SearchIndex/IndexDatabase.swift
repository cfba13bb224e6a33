import Foundation
import GRDB

/// The SQLite side of an index (`index.sqlite`, WAL mode: one writer, many readers): the `images` table and the
/// `meta` key-value table. Row alignment: every image owns one feature row (`images.row`); a row with no image is
/// a tombstone (its image was removed or re-embedded into a new row). `meta.rows` is the number of feature rows the
/// feature file holds as of the last commit: the writer appends and fsyncs feature rows first, then commits the
/// transaction that records them, so a crash between the two leaves only rows past `meta.rows`, cut on next open.
final class IndexDatabase: @unchecked Sendable {
    static let fileName = "index.sqlite"
    /// The layout this code writes; a newer one is refused.
    static let formatVersion = 1

    let pool: DatabasePool
    let path: String

    /// Opens (creating when `create`) the database of `directory`.
    init(directory: URL, readOnly: Bool, create: Bool) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        path = url.path
        if !FileManager.default.fileExists(atPath: path) && !create {
            throw IndexError.notAnIndex(directory: directory.path)
        }
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw IndexError.io(path: path, reason: "\(error)")
        }
        if !readOnly { try migrate() }
    }

    private func migrate() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE images (
                    id INTEGER PRIMARY KEY NOT NULL,
                    row INTEGER NOT NULL UNIQUE,
                    path TEXT NOT NULL UNIQUE,
                    size INTEGER NOT NULL,
                    mtime_ns INTEGER NOT NULL,
                    hash TEXT NOT NULL,
                    width INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    added_at REAL NOT NULL);
                """)
        }
        try wrap { try migrator.migrate(pool) }
    }

    /// Runs a GRDB call, turning its errors into `IndexError.io` naming the database.
    func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError.io(path: path, reason: "\(error)")
        }
    }

    // MARK: meta

    func meta() throws -> [String: String] {
        try wrap { try pool.read { db in try Self.meta(db) } }
    }

    static func meta(_ db: Database) throws -> [String: String] {
        var values: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            let key: String = row["key"], value: String = row["value"]
            values[key] = value
        }
        return values
    }

    func setMeta(_ values: [String: String]) throws {
        try wrap { try pool.write { db in try Self.setMeta(values, in: db) } }
    }

    static func setMeta(_ values: [String: String], in db: Database) throws {
        for (key, value) in values {
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    // MARK: images

    static let recordColumns = "id, row, path, size, mtime_ns, hash, width, height, added_at"

    static func record(_ row: Row) -> ImageRecord {
        ImageRecord(id: row["id"], row: row["row"], path: row["path"], size: row["size"], mtimeNanoseconds: row["mtime_ns"],
                    contentHash: row["hash"], width: row["width"], height: row["height"], addedAt: row["added_at"])
    }

    func record(id: Int64) throws -> ImageRecord? {
        try wrap {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(Self.recordColumns) FROM images WHERE id = ?", arguments: [id]).map(Self.record)
            }
        }
    }

    func records(ids: [Int64]) throws -> [Int64: ImageRecord] {
        guard !ids.isEmpty else { return [:] }
        return try wrap {
            try pool.read { db in
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: "SELECT \(Self.recordColumns) FROM images WHERE id IN (\(marks))",
                                            arguments: StatementArguments(ids))
                return Dictionary(rows.map { (($0["id"] as Int64), Self.record($0)) }, uniquingKeysWith: { $1 })
            }
        }
    }

    func allRecords() throws -> [ImageRecord] {
        try wrap {
            try pool.read { db in try Row.fetchAll(db, sql: "SELECT \(Self.recordColumns) FROM images ORDER BY row").map(Self.record) }
        }
    }

    /// The committed row count and, for every row, its image id (-1 for a tombstone), read in one snapshot. With
    /// `previous` ids from the same `generation` (no row has died since), only rows past them are read.
    func rowMap(previous: (ids: [Int64], generation: String)?) throws -> (rows: Int, ids: [Int64], meta: [String: String]) {
        try wrap {
            try pool.read { db in
                let meta = try Self.meta(db)
                let rows = Int(meta[MetaKey.rows] ?? "0") ?? 0
                var ids: [Int64]
                var first = 0
                if let previous, previous.generation == meta[MetaKey.generation] ?? "0", previous.ids.count <= rows {
                    ids = previous.ids + [Int64](repeating: -1, count: rows - previous.ids.count)
                    first = previous.ids.count
                } else {
                    ids = [Int64](repeating: -1, count: rows)
                }
                guard first < rows else { return (rows, ids, meta) }
                let cursor = try Row.fetchCursor(db, sql: "SELECT row, id FROM images WHERE row >= ?", arguments: [first])
                while let row = try cursor.next() {
                    let index = Int(row[0] as Int64)
                    if index >= 0 && index < rows { ids[index] = row[1] }
                }
                return (rows, ids, meta)
            }
        }
    }

    /// Marks, inside a write transaction, that rows died (removal or re-embedding), so readers re-read every row.
    static func bumpGeneration(in db: Database) throws {
        let current = Int(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [MetaKey.generation]) ?? "0") ?? 0
        try setMeta([MetaKey.generation: String(current + 1)], in: db)
    }

    func liveCount() throws -> Int {
        try wrap { try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM images") ?? 0 } }
    }
}

/// Keys of the `meta` table.
enum MetaKey {
    static let formatVersion = "format_version"
    static let visionModel = "vision_model"
    static let textModel = "text_model"
    static let modelConfig = "model_config"
    static let checkpointPath = "checkpoint_path"
    static let checkpointHash = "checkpoint_hash"
    static let dimension = "dimension"
    static let dtype = "dtype"
    /// Feature rows committed (live and tombstoned).
    static let rows = "rows"
    /// Counts the commits in which rows died; unchanged, a reader extends its row map instead of re-reading it.
    static let generation = "generation"
    static let annKind = "ann_kind"
    /// Rows [0, ann_rows) are in the approximate index.
    static let annRows = "ann_rows"
    /// The tombstone count when the approximate index was built (more tombstones → rebuild).
    static let annTombstones = "ann_tombstones"
    /// Recall@10 against exact search measured when the approximate index was last written, and its query count.
    static let annRecall = "ann_recall"
    static let annRecallQueries = "ann_recall_queries"
    /// The search breadth (HNSW efSearch or IVF nprobe) chosen when the approximate index was last written.
    static let annBreadth = "ann_breadth"
    /// How that breadth is chosen (`ANNTuning`'s description), so that later updates tune the same way.
    static let annTuning = "ann_tuning"
}
