/// One line of a `${split}_imgs.tsv` file: `<image id> TAB <base64 image bytes>`.
public struct ImageTSVLine: Sendable, Equatable {
    /// The id exactly as written (it becomes the LMDB key).
    public let id: String
    /// The base64 text of the image file.
    public let base64: String

    /// Parses a line as the reference does (Python-stripped, exactly two tab-separated fields), and also checks
    /// what the reference leaves to fail later: the id is a decimal integer and the base64 text is well formed.
    public init(parsing rawLine: String, file: String, line: Int) throws(DatasetError) {
        // Works on UTF-8 bytes: image lines are long, and Character-level splitting would dominate the build.
        let bytes = rawLine.utf8
        let needsStrip = !(bytes.first.map(Self.isPlainASCII) ?? true) || !(bytes.last.map(Self.isPlainASCII) ?? true)
        let stripped = needsStrip ? rawLine.pythonStripped : rawLine
        let utf8 = stripped.utf8
        let tabs = utf8.indices.filter { utf8[$0] == 0x09 }
        guard tabs.count == 1, let tab = tabs.first else {
            throw DatasetError.malformedLine(file: file, line: line,
                                             reason: "expected 2 tab-separated fields (id, base64), found \(tabs.count + 1)")
        }
        let id = String(Substring(utf8[..<tab]))
        guard Self.isDecimalInteger(id) else {
            throw DatasetError.malformedLine(file: file, line: line, reason: "image id \"\(id)\" is not an integer")
        }
        let base64 = Substring(utf8[utf8.index(after: tab)...])
        if let problem = Base64Check.problem(in: base64.utf8) {
            throw DatasetError.malformedLine(file: file, line: line, reason: "image \(id): \(problem)")
        }
        self.id = id
        self.base64 = String(base64)
    }

    /// A byte that is ASCII and not whitespace (so `strip()` cannot remove it).
    private static func isPlainASCII(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    static func isDecimalInteger(_ text: String) -> Bool {
        let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// Checks base64 text the way the readers decode it (`urlsafe_b64decode`: standard or URL-safe alphabet).
enum Base64Check {
    static func problem<Bytes: Collection>(in bytes: Bytes) -> String? where Bytes.Element == UInt8 {
        if bytes.isEmpty { return "empty base64 data" }
        if bytes.count % 4 != 0 { return "base64 length \(bytes.count) is not a multiple of 4" }
        var padding = 0
        var offset = -1
        for byte in bytes {
            offset += 1
            switch byte {
            case UInt8(ascii: "="):
                padding += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                if padding > 0 { return "base64 padding '=' before the end (offset \(offset))" }
            default:
                return "invalid base64 character at offset \(offset)"
            }
        }
        return padding > 2 ? "too much base64 padding" : nil
    }
}

/// One line of a `${split}_texts.jsonl` file: `{"text_id": int, "text": str, "image_ids": [int, ...]}`.
public struct TextAnnotation: Sendable, Equatable {
    public let textId: Int64
    public let text: String
    /// The matching images, possibly none (test splits).
    public let imageIds: [Int64]

    public init(textId: Int64, text: String, imageIds: [Int64]) {
        self.textId = textId
        self.text = text
        self.imageIds = imageIds
    }

    /// Parses a line (Python-stripped, then `json.loads`); all three fields must be present with these types.
    public init(parsing rawLine: String, file: String, line: Int) throws(DatasetError) {
        func malformed(_ reason: String) -> DatasetError { .malformedLine(file: file, line: line, reason: reason) }
        let value: PythonValue
        do { value = try PythonJSON.parse(rawLine.pythonStripped) } catch { throw malformed("invalid JSON: \(error.message)") }
        guard case let .dict(object) = value else { throw malformed("expected a JSON object, found \(value.typeName)") }
        guard let textId = object["text_id"] else { throw malformed("missing field \"text_id\"") }
        guard let text = object["text"] else { throw malformed("missing field \"text\"") }
        guard let imageIds = object["image_ids"] else { throw malformed("missing field \"image_ids\"") }
        guard let id = textId.int64Value else { throw malformed("text_id is not a 64-bit integer (\(textId.typeName))") }
        guard case let .string(string) = text else { throw malformed("text is not a string (\(text.typeName))") }
        guard case let .list(items) = imageIds else { throw malformed("image_ids is not a list (\(imageIds.typeName))") }
        var ids: [Int64] = []
        ids.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            guard let imageId = item.int64Value else {
                throw malformed("image_ids[\(position)] is not a 64-bit integer (\(item.typeName))")
            }
            ids.append(imageId)
        }
        self.init(textId: id, text: string, imageIds: ids)
    }
}
