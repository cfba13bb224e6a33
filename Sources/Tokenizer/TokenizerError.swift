/// Errors of the tokenizer: each names the file, line or value at fault.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A line of a file or stream is not valid UTF-8 (line numbers from 1).
    case invalidUTF8(source: String, line: Int)
    /// The vocabulary lacks a token the tokenizer needs.
    case missingSpecialToken(String, source: String)
    /// A context length below 2 leaves no room for `[CLS]` and `[SEP]`.
    case contextLengthTooShort(Int)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .invalidUTF8(source, line):
            return "\(source):\(line): not valid UTF-8"
        case let .missingSpecialToken(token, source):
            return "\(source): vocabulary has no \(token) token"
        case let .contextLengthTooShort(length):
            return "context length \(length) is too short: it must be at least 2 to hold [CLS] and [SEP]"
        }
    }
}
