import Foundation

/// The reference's training logger: each line `<local time %Y-%m-%d,%H:%M:%S> | INFO | Rank 0 | <message>` goes to
/// stderr and, when a file is given, appended to it (`<logs>/<name>/out_<UTC stamp>.log`).
public final class TrainingLog: @unchecked Sendable {
    private let file: FileHandle?
    private let echo: Bool
    private let lock = NSLock()
    private let formatter: DateFormatter
    /// Every message logged so far (without the time prefix), in order; tests read it.
    public private(set) var messages: [String] = []

    /// Opens (creating) `path` for appending when given; `echo` writes every line to stderr too.
    /// - Throws: `TrainerError.unwritableOutput` when the file cannot be created.
    public init(path: String?, echo: Bool = true) throws {
        if let path {
            let url = URL(fileURLWithPath: path)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw TrainerError.unwritableOutput(path: path, reason: "cannot create the log file")
                }
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw TrainerError.unwritableOutput(path: path, reason: "cannot open the log file for writing")
            }
            handle.seekToEndOfFile()
            file = handle
        } else {
            file = nil
        }
        self.echo = echo
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd,HH:mm:ss"
    }

    deinit { try? file?.close() }

    /// Logs `message` at INFO level from rank 0.
    public func info(_ message: String) {
        lock.lock()
        defer { lock.unlock() }
        messages.append(message)
        let line = "\(formatter.string(from: Date())) | INFO | Rank 0 | \(message)\n"
        let bytes = Data(line.utf8)
        if echo { FileHandle.standardError.write(bytes) }
        file?.write(bytes)
    }

    /// The UTC time stamp the reference names its log and params files with (`%Y-%m-%d-%H-%M-%S`).
    public static func fileStamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd-HH-mm-ss"
        return formatter.string(from: date)
    }
}

/// Python's `format(x, ".Nf")` for the log lines (round half to even on the exact binary value, as C's printf).
public func fixedDecimals(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}
