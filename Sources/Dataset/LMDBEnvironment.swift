import CLMDB

/// A liblmdb environment holding only the unnamed main database, as the reference's `lmdb.open` uses it.
/// Not shared between threads: open one per thread.
public final class LMDBEnvironment {
    /// The environment directory.
    public let path: String
    let handle: OpaquePointer
    private(set) var database: MDB_dbi = 0

    /// The reference's map size, `1024**4` bytes (address space only; the file grows with the data).
    public static let referenceMapSize = 1 << 40

    /// Opens (creating if needed) a writable environment with the reference's settings: map size 1 TiB,
    /// default flags, file mode 0o755.
    public static func openForWriting(path: String) throws(DatasetError) -> LMDBEnvironment {
        try LMDBEnvironment(path: path, flags: 0, mapSize: referenceMapSize)
    }

    /// Opens an existing environment read-only, without locking or read-ahead (as the reference's readers do).
    public static func openForReading(path: String) throws(DatasetError) -> LMDBEnvironment {
        try LMDBEnvironment(path: path, flags: UInt32(MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD), mapSize: nil)
    }

    private init(path: String, flags: UInt32, mapSize: Int?) throws(DatasetError) {
        self.path = path
        var environment: OpaquePointer?
        try Self.check(mdb_env_create(&environment), path: path, "env_create")
        guard let environment else { throw DatasetError.lmdb(path: path, operation: "env_create", code: -1, message: "no handle") }
        handle = environment
        // From here on a failure reaches deinit, which closes the handle.
        if let mapSize { try Self.check(mdb_env_set_mapsize(environment, mapSize), path: path, "set_mapsize") }
        try Self.check(mdb_env_set_maxreaders(environment, 126), path: path, "set_maxreaders")
        try Self.check(mdb_env_open(environment, path, flags | UInt32(MDB_NOTLS), 0o755), path: path, "open")
        let transaction = try beginTransaction(readOnly: true)
        defer { mdb_txn_abort(transaction) }
        try Self.check(mdb_dbi_open(transaction, nil, 0, &database), path: path, "dbi_open")
    }

    deinit { mdb_env_close(handle) }

    static func check(_ code: Int32, path: String, _ operation: String) throws(DatasetError) {
        guard code == MDB_SUCCESS else {
            throw DatasetError.lmdb(path: path, operation: operation, code: code, message: String(cString: mdb_strerror(code)))
        }
    }

    func beginTransaction(readOnly: Bool) throws(DatasetError) -> OpaquePointer {
        var transaction: OpaquePointer?
        try Self.check(mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &transaction), path: path, "txn_begin")
        guard let transaction else { throw DatasetError.lmdb(path: path, operation: "txn_begin", code: -1, message: "no handle") }
        return transaction
    }
}

/// A write transaction on an `LMDBEnvironment`; aborted unless committed.
final class LMDBWriteTransaction {
    private let environment: LMDBEnvironment
    private var handle: OpaquePointer?

    init(_ environment: LMDBEnvironment) throws(DatasetError) {
        self.environment = environment
        handle = try environment.beginTransaction(readOnly: false)
    }

    deinit { if let handle { mdb_txn_abort(handle) } }

    /// Stores `value` under `key` and returns true. With `unique`, an existing key is left as it is and false is
    /// returned.
    @discardableResult
    func put(key: [UInt8], value: [UInt8], unique: Bool = false) throws(DatasetError) -> Bool {
        guard let handle else { throw DatasetError.lmdb(path: environment.path, operation: "put", code: -1, message: "transaction closed") }
        // liblmdb only reads the input buffers; the mutable pointers are what its C signature asks for.
        let code = key.withUnsafeBytes { keyBuffer in
            value.withUnsafeBytes { valueBuffer in
                var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: UnsafeMutableRawPointer(mutating: keyBuffer.baseAddress))
                var dataValue = MDB_val(mv_size: valueBuffer.count, mv_data: UnsafeMutableRawPointer(mutating: valueBuffer.baseAddress))
                return mdb_put(handle, environment.database, &keyValue, &dataValue, unique ? UInt32(MDB_NOOVERWRITE) : 0)
            }
        }
        if unique && code == MDB_KEYEXIST { return false }
        try LMDBEnvironment.check(code, path: environment.path, "put")
        return true
    }

    /// Commits; the transaction cannot be used afterwards.
    func commit() throws(DatasetError) {
        guard let transaction = handle else { return }
        handle = nil
        try LMDBEnvironment.check(mdb_txn_commit(transaction), path: environment.path, "commit")
    }
}

/// A read-only snapshot of an `LMDBEnvironment`: point lookups and key-ordered iteration.
final class LMDBReadTransaction {
    let environment: LMDBEnvironment
    private let handle: OpaquePointer

    init(_ environment: LMDBEnvironment) throws(DatasetError) {
        self.environment = environment
        handle = try environment.beginTransaction(readOnly: true)
    }

    deinit { mdb_txn_abort(handle) }

    /// The value stored under `key`, passed to `body` without copying; nil when the key is absent.
    func withValue<Result>(forKey key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        var data = MDB_val()
        let code = key.withUnsafeBytes { keyBuffer in
            var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: UnsafeMutableRawPointer(mutating: keyBuffer.baseAddress))
            return mdb_get(handle, environment.database, &keyValue, &data)
        }
        if code == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(code, path: environment.path, "get")
        return try body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    /// Calls `body` with every key and value in key order (lexicographic bytes) until it returns false.
    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(handle, environment.database, &cursor), path: environment.path, "cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var data = MDB_val()
        var operation = MDB_FIRST
        while true {
            let code = mdb_cursor_get(cursor, &key, &data, operation)
            if code == MDB_NOTFOUND { return }
            try LMDBEnvironment.check(code, path: environment.path, "cursor_get")
            let keyBuffer = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            let dataBuffer = UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)
            guard try body(keyBuffer, dataBuffer) else { return }
            operation = MDB_NEXT
        }
    }
}
