import Dataset
import Foundation
import Imaging

/// Adding the reference's datasets by image id: an LMDB `imgs` database or a `{split}_imgs.tsv` file. Each image
/// keeps its dataset id as its index id and gets the path `lmdb:<imgs folder>#<id>` or `tsv:<file>#<id>` (see
/// `DatasetImagePath`); an image whose bytes did not change since the last import is not re-embedded.
extension ImageIndexer {
    /// Adds every image of an LMDB `imgs` database (the folder holding `data.mdb`).
    /// - Throws: `DatasetError` naming the database; `IndexError.duplicateId` when an id is held by another image.
    public func add(lmdbImages folder: String, options: Options = Options()) throws -> Summary {
        let root = ImageFiles.absolute(folder)
        let total = try LMDBImagesReader(path: root).count
        // Ranks of a sharded run read the images themselves (by id); one process hands them over as it reads them.
        let inline = !(options.shards?.isDistributed ?? false)
        return try addDataset(total: total, options: options) { known, emit in
            let reader = try LMDBImagesReader(path: root)
            try reader.forEachImage { id, base64 in
                let path = DatasetImagePath.lmdb(root, id: id)
                return emit(IndexWork(source: inline ? .base64(base64) : .lmdb(folder: root), path: path, id: id, size: 0,
                               mtime: 0, existing: known[path]))
            }
        }
    }

    /// Adds every line of a `{split}_imgs.tsv` file (`id TAB base64`).
    /// - Throws: `DatasetError.malformedLine` naming the file and line.
    public func add(tsv file: String, options: Options = Options()) throws -> Summary {
        let path = ImageFiles.absolute(file)
        return try addDataset(total: 0, options: options) { known, emit in
            let reader = try TextLineReader(path: path)
            while let line = try reader.nextString() {
                if line.allSatisfy(\.isWhitespace) { continue }
                let parsed = try ImageTSVLine(parsing: line, file: path, line: reader.lineNumber)
                guard let id = Int64(parsed.id) else {
                    throw DatasetError.malformedLine(file: path, line: reader.lineNumber, reason: "image id \(parsed.id) out of range")
                }
                let imagePath = DatasetImagePath.tsv(path, id: id)
                guard emit(IndexWork(source: .base64(parsed.base64), path: imagePath, id: id, size: 0, mtime: 0,
                                     existing: known[imagePath])) else { return }
            }
        }
    }

    private func addDataset(total: Int, options: Options,
                            produce: @escaping @Sendable ([String: ImageRecord], (IndexWork) -> Bool) throws -> Void)
        throws -> Summary {
        let known = Dictionary(try writer.database.allRecords().map { ($0.path, $0) }, uniquingKeysWith: { $1 })
        var summary = Summary()
        let counter = Counter()
        try run(total: total, options: options, summary: &summary) { emit in
            try produce(known) { item in
                counter.increment()
                return emit(item)
            }
        }
        summary.found = counter.value
        summary.ann = try maintainANN(options: options)
        return summary
    }
}

/// A count shared with the prefetch thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// The pseudo-paths of dataset images, and reading their bytes back.
public enum DatasetImagePath {
    static func lmdb(_ folder: String, id: Int64) -> String { "lmdb:\(folder)#\(id)" }
    static func tsv(_ file: String, id: Int64) -> String { "tsv:\(file)#\(id)" }

    /// The encoded bytes of an indexed image: the file, or the dataset entry its pseudo-path names.
    /// - Throws: `IndexError.io` naming the path when it cannot be read.
    public static func data(for path: String) throws -> Data {
        func split(_ rest: Substring) throws -> (String, Int64) {
            guard let hash = rest.lastIndex(of: "#"), let id = Int64(rest[rest.index(after: hash)...]) else {
                throw IndexError.io(path: path, reason: "malformed dataset image path")
            }
            return (String(rest[..<hash]), id)
        }
        do {
            if path.hasPrefix("lmdb:") {
                let (folder, id) = try split(path.dropFirst(5))
                return try decoded(LMDBImagesReader(path: folder).base64(forImageId: id), path: path)
            }
            if path.hasPrefix("tsv:") {
                let (file, id) = try split(path.dropFirst(4))
                let reader = try TextLineReader(path: file)
                let prefix = "\(id)\t"
                while let line = try reader.nextString() {
                    guard line.hasPrefix(prefix) else { continue }
                    return try decoded(ImageTSVLine(parsing: line, file: file, line: reader.lineNumber).base64, path: path)
                }
                throw IndexError.io(path: path, reason: "image \(id) not found in \(file)")
            }
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError.io(path: path, reason: "\(error)")
        }
    }

    private static func decoded(_ base64: String, path: String) throws -> Data {
        switch ImageBase64.decode(base64.utf8) {
        case .success(let data): return data
        case .failure(let error): throw IndexError.io(path: path, reason: "base64: \(error.reason)")
        }
    }
}
