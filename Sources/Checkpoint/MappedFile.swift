import Foundation

/// Reads whole checkpoint files memory-mapped, so tensors can view the file's bytes without copying them.
enum MappedFile {
    /// The bytes of the file at `url`.
    /// - Throws: `CheckpointError.unreadableFile` naming the path.
    static func contents(of url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }
}
