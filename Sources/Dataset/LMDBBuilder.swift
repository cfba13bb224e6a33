import Foundation

/// `build_lmdb_dataset.py`: turns `${split}_texts.jsonl` and `${split}_imgs.tsv` into the `pairs` and `imgs` LMDB
/// environments of `<lmdb_dir>/<split>/`, record for record as the reference writes them (keys, pickled values,
/// count keys, commit cadence, map size).
///
/// Unlike the reference it stops at the first bad line (naming file and line) rather than at a Python traceback,
/// also rejects duplicated image ids, non-integer ids and malformed base64, and builds each split in a temporary
/// directory renamed into place at the end, so a failed run leaves any earlier `<split>` directory untouched
/// (the reference writes into an existing directory in place, keeping stale keys).
public struct LMDBBuilder {
    /// Records per write transaction, as the reference commits.
    public static let pairsPerCommit = 5000
    public static let imagesPerCommit = 1000

    public let dataDirectory: String
    public let lmdbDirectory: String
    /// Receives the reference's stdout lines (`Dataset splits to be processed: …`, `Finished serializing …`, `done!`).
    public var report: (String) -> Void
    /// Receives progress lines for stderr.
    public var progress: (String) -> Void

    /// `lmdbDirectory` defaults to `<dataDirectory>/lmdb` as in the reference.
    public init(dataDirectory: String, lmdbDirectory: String? = nil,
                report: @escaping (String) -> Void = { print($0) },
                progress: @escaping (String) -> Void = { _ in }) {
        self.dataDirectory = dataDirectory
        self.lmdbDirectory = lmdbDirectory ?? (dataDirectory as NSString).appendingPathComponent("lmdb")
        self.report = report
        self.progress = progress
    }

    /// The split names of a `--splits` value: comma-separated, stripped as a whole, repeated names dropped
    /// (the reference deduplicates through a set, so its order is arbitrary; this keeps the given order).
    public static func splitNames(_ argument: String) -> [String] {
        var seen = Set<String>()
        return argument.pythonStripped.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            .filter { seen.insert($0).inserted }
    }

    /// Builds every split; throws at the first problem, leaving no partial split directory behind.
    public func build(splits: [String]) throws(DatasetError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.unreadableFile(file: dataDirectory, reason: "the data directory does not exist")
        }
        report("Dataset splits to be processed: \(splits.joined(separator: ", "))")
        for split in splits { try build(split: split) }
        report("done!")
    }

    private func build(split: String) throws(DatasetError) {
        let fileManager = FileManager.default
        let splitDirectory = (lmdbDirectory as NSString).appendingPathComponent(split)
        if fileManager.fileExists(atPath: splitDirectory) {
            report("We will overwrite an existing LMDB file \(splitDirectory)")
        }
        let staging = (lmdbDirectory as NSString)
            .appendingPathComponent(".\(split).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try? fileManager.removeItem(atPath: staging)
            try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.unreadableFile(file: staging, reason: "cannot create directory: \(error.localizedDescription)")
        }
        do {
            let pairCount = try writePairs(split: split, into: (staging as NSString).appendingPathComponent("pairs"))
            report("Finished serializing \(pairCount) \(split) split pairs into \((splitDirectory as NSString).appendingPathComponent("pairs")).")
            let imageCount = try writeImages(split: split, into: (staging as NSString).appendingPathComponent("imgs"))
            report("Finished serializing \(imageCount) \(split) split images into \((splitDirectory as NSString).appendingPathComponent("imgs")).")
            try replaceDirectory(splitDirectory, with: staging)
        } catch {
            try? fileManager.removeItem(atPath: staging)
            throw error
        }
    }

    private func environment(at path: String) throws(DatasetError) -> LMDBEnvironment {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.unreadableFile(file: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
        return try LMDBEnvironment.openForWriting(path: path)
    }

    private func writePairs(split: String, into path: String) throws(DatasetError) -> Int {
        let file = (dataDirectory as NSString).appendingPathComponent("\(split)_texts.jsonl")
        let reader = try TextLineReader(path: file)
        let environment = try self.environment(at: path)
        var transaction = try LMDBWriteTransaction(environment)
        var written = 0
        while let line = try reader.nextString() {
            let annotation = try TextAnnotation(parsing: line, file: file, line: reader.lineNumber)
            for imageId in annotation.imageIds {
                let record = PairRecord(imageId: imageId, textId: annotation.textId, text: annotation.text)
                try transaction.put(key: Array(String(written).utf8), value: PairPickle.encode(record))
                written += 1
                if written % Self.pairsPerCommit == 0 {
                    try transaction.commit()
                    transaction = try LMDBWriteTransaction(environment)
                }
            }
            if reader.lineNumber % 10_000 == 0 { progress("\(split) texts: \(reader.lineNumber) lines, \(written) pairs") }
        }
        try transaction.put(key: Array("num_samples".utf8), value: Array(String(written).utf8))
        try transaction.commit()
        progress("\(split) texts: \(reader.lineNumber) lines, \(written) pairs")
        return written
    }

    private func writeImages(split: String, into path: String) throws(DatasetError) -> Int {
        let file = (dataDirectory as NSString).appendingPathComponent("\(split)_imgs.tsv")
        let reader = try TextLineReader(path: file)
        let environment = try self.environment(at: path)
        var transaction = try LMDBWriteTransaction(environment)
        var written = 0
        while let line = try reader.nextString() {
            let image = try ImageTSVLine(parsing: line, file: file, line: reader.lineNumber)
            guard try transaction.put(key: Array(image.id.utf8), value: Array(image.base64.utf8), unique: true) else {
                throw DatasetError.duplicateImageId(file: file, line: reader.lineNumber, id: image.id)
            }
            written += 1
            if written % Self.imagesPerCommit == 0 {
                try transaction.commit()
                transaction = try LMDBWriteTransaction(environment)
                progress("\(split) images: \(written) (\(reader.bytesRead >> 20) MiB read)")
            }
        }
        try transaction.put(key: Array("num_images".utf8), value: Array(String(written).utf8))
        try transaction.commit()
        progress("\(split) images: \(written) (\(reader.bytesRead >> 20) MiB read)")
        return written
    }

    /// Moves `staging` to `destination`, replacing what was there only once the new directory is complete.
    private func replaceDirectory(_ destination: String, with staging: String) throws(DatasetError) {
        let fileManager = FileManager.default
        let previous = staging + ".previous"
        do {
            if fileManager.fileExists(atPath: destination) { try fileManager.moveItem(atPath: destination, toPath: previous) }
            try fileManager.moveItem(atPath: staging, toPath: destination)
            try? fileManager.removeItem(atPath: previous)
        } catch {
            throw DatasetError.unreadableFile(file: destination, reason: "cannot move the new LMDB into place: \(error.localizedDescription)")
        }
    }
}
