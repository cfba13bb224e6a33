import Foundation

/// Errors of the on-disk index, each naming the file, path or value at fault.
public enum IndexError: Error, Equatable, CustomStringConvertible {
    /// The directory holds no index (`index.sqlite` missing) and the caller did not ask to create one.
    case notAnIndex(directory: String)
    /// The index was built with another model.
    case modelMismatch(directory: String, index: String, requested: String)
    /// The feature file is shorter than the rows the database committed, or has an unexpected size.
    case corruptFeatureFile(path: String, reason: String)
    /// A metadata value is missing or malformed.
    case corruptMetadata(directory: String, key: String, reason: String)
    /// A query vector of the wrong length, or k/offset out of range.
    case invalidQuery(reason: String)
    /// The index is open read-only.
    case readOnly(directory: String)
    /// The approximate index is missing or failed.
    case ann(reason: String)
    /// A file system operation failed.
    case io(path: String, reason: String)
    /// A dataset image id is already in use by another image.
    case duplicateId(id: Int64, existing: String, new: String)
    /// Strict mode: some images could not be indexed.
    case failedImages(count: Int)

    public var description: String {
        switch self {
        case .notAnIndex(let directory): return "\(directory): not an index (no index.sqlite)"
        case .modelMismatch(let directory, let index, let requested):
            return "\(directory): the index was built with \(index), not \(requested)"
        case .corruptFeatureFile(let path, let reason): return "\(path): corrupt feature file: \(reason)"
        case .corruptMetadata(let directory, let key, let reason): return "\(directory): metadata '\(key)': \(reason)"
        case .invalidQuery(let reason): return "invalid query: \(reason)"
        case .readOnly(let directory): return "\(directory): the index is open read-only"
        case .ann(let reason): return "approximate index: \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .duplicateId(let id, let existing, let new): return "image id \(id) of \(new) is already used by \(existing)"
        case .failedImages(let count): return "\(count) image(s) could not be indexed (--strict)"
        }
    }
}
