import Foundation

/// Writes files the way outputs must be written: to a temporary file beside the destination, renamed over it
/// once complete, so readers never see a half-written file.
public enum AtomicFile {
    /// Replaces `path` with `data`; throws `DatasetError.unreadableFile` naming the path when it cannot.
    public static func write(_ data: Data, to path: String) throws(DatasetError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: temporary)
            if rename(temporary.path, path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw DatasetError.unreadableFile(file: path, reason: reason)
            }
        } catch let error as DatasetError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw DatasetError.unreadableFile(file: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
