/// Errors from reading or writing dataset files (TSV, JSONL, LMDB). Each names the file and the line or key.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// A line of a TSV or JSONL file that does not have the expected shape; `line` counts from 1.
    case malformedLine(file: String, line: Int, reason: String)
    /// A file that cannot be opened, read or written.
    case unreadableFile(file: String, reason: String)
    /// The same image id appears twice in an image TSV file.
    case duplicateImageId(file: String, line: Int, id: String)
    /// An LMDB call that failed; `operation` says what was being done.
    case lmdb(path: String, operation: String, code: Int32, message: String)
    /// A key that an LMDB environment lacks.
    case missingKey(path: String, key: String)
    /// A stored value that cannot be decoded (not a count, not a pickled pair record).
    case malformedValue(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case let .malformedLine(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .unreadableFile(file, reason):
            return "\(file): \(reason)"
        case let .duplicateImageId(file, line, id):
            return "\(file):\(line): image id \(id) appears more than once"
        case let .lmdb(path, operation, code, message):
            return "\(path): LMDB \(operation) failed (\(code)): \(message)"
        case let .missingKey(path, key):
            return "\(path): no key \"\(key)\""
        case let .malformedValue(path, key, reason):
            return "\(path): value of key \"\(key)\": \(reason)"
        }
    }
}
