import Foundation

/// Sequential writes into the temporary file of an atomic write.
final class FileSink {
    private let handle: FileHandle

    fileprivate init(handle: FileHandle) { self.handle = handle }

    /// Appends `data`.
    func write(_ data: Data) throws { try handle.write(contentsOf: data) }
}

/// Writes a file atomically: into a temporary file beside the target, renamed over it only once complete,
/// so an interrupted write never leaves a half-written checkpoint under the target's name.
enum AtomicFile {
    static func write(to url: URL, _ body: (FileSink) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CheckpointError.unwritableFile(path: url.path, reason: "cannot create a file in \(directory.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try body(FileSink(handle: handle))
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw CheckpointError.unwritableFile(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if error is CheckpointError { throw error }
            throw CheckpointError.unwritableFile(path: url.path, reason: "\(error)")
        }
    }
}
