/// The `pairs` LMDB of a split: `num_samples` and pickled `(image_id, text_id, text)` records under `"0"`, `"1"`, ….
/// One reader holds one read snapshot; use one reader per thread.
public final class LMDBPairsReader {
    public let path: String
    /// The `num_samples` count.
    public let count: Int
    private let transaction: LMDBReadTransaction

    /// Opens the `pairs` directory read-only; throws when it is missing or lacks `num_samples`.
    public init(path: String) throws(DatasetError) {
        self.path = path
        transaction = try LMDBReadTransaction(LMDBEnvironment.openForReading(path: path))
        count = try readCount(transaction, key: "num_samples")
    }

    /// Pair record `index` (0 ..< count).
    public func record(at index: Int) throws(DatasetError) -> PairRecord {
        let key = String(index)
        let path = self.path
        let decoded: Result<PairRecord, PairPickle.DecodeError>?
        do {
            decoded = try transaction.withValue(forKey: Array(key.utf8)) { bytes in
                Result { () throws(PairPickle.DecodeError) in try PairPickle.decode(bytes) }
            }
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.malformedValue(path: path, key: key, reason: "\(error)")
        }
        switch decoded {
        case nil: throw DatasetError.missingKey(path: path, key: key)
        case let .success(record)?: return record
        case let .failure(error)?: throw DatasetError.malformedValue(path: path, key: key, reason: error.reason)
        }
    }
}

/// The `imgs` LMDB of a split: `num_images` and base64 image files keyed by the image id as written in the TSV.
/// One reader holds one read snapshot; use one reader per thread.
public final class LMDBImagesReader {
    public let path: String
    /// The `num_images` count.
    public let count: Int
    private let transaction: LMDBReadTransaction

    /// Opens the `imgs` directory read-only; throws when it is missing or lacks `num_images`.
    public init(path: String) throws(DatasetError) {
        self.path = path
        transaction = try LMDBReadTransaction(LMDBEnvironment.openForReading(path: path))
        count = try readCount(transaction, key: "num_images")
    }

    /// The base64 text stored for `imageId` (looked up by `str(image_id)`, as the training reader does).
    public func base64(forImageId imageId: Int64) throws(DatasetError) -> String {
        try base64(forKey: String(imageId))
    }

    /// The base64 text stored under `key`.
    public func base64(forKey key: String) throws(DatasetError) -> String {
        let value: String?
        do {
            value = try transaction.withValue(forKey: Array(key.utf8)) { String(decoding: $0, as: UTF8.self) }
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.malformedValue(path: path, key: key, reason: "\(error)")
        }
        guard let value else { throw DatasetError.missingKey(path: path, key: key) }
        return value
    }

    /// Every image in LMDB key order (lexicographic bytes of the id text, so `"1000" < "25" < "99"`), skipping the
    /// `num_images` key, as the reference's feature extraction walks them. `body` gets the id and the base64 text
    /// and returns false to stop early. Throws when a key is not an integer.
    public func forEachImage(_ body: (_ id: Int64, _ base64: String) throws -> Bool) throws {
        let countKey = Array("num_images".utf8)
        let path = self.path
        try transaction.forEach { key, value in
            if key.elementsEqual(countKey) { return true }
            let text = String(decoding: key, as: UTF8.self)
            guard let id = Int64(text) else {
                throw DatasetError.malformedValue(path: path, key: text, reason: "image key is not an integer id")
            }
            return try body(id, String(decoding: value, as: UTF8.self))
        }
    }
}

/// Reads an ASCII decimal count stored under `key`.
private func readCount(_ transaction: LMDBReadTransaction, key: String) throws(DatasetError) -> Int {
    let path = transaction.environment.path
    let text: String?
    do {
        text = try transaction.withValue(forKey: Array(key.utf8)) { String(decoding: $0, as: UTF8.self) }
    } catch let error as DatasetError {
        throw error
    } catch {
        throw DatasetError.malformedValue(path: path, key: key, reason: "\(error)")
    }
    guard let text else { throw DatasetError.missingKey(path: path, key: key) }
    guard let count = Int(text), count >= 0 else {
        throw DatasetError.malformedValue(path: path, key: key, reason: "\"\(text)\" is not a count")
    }
    return count
}
