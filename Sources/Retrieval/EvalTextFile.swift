import Dataset

/// One text to encode: `extract_features.py` reads `{"text_id": int, "text": ...}` lines and encodes
/// `_preprocess_text(str(text))`.
public struct EvalText: Sendable, Equatable {
    public let id: Int64
    /// Python's `str(text)` of the line's `text` value (not yet lower-cased; see `preprocessText`).
    public let text: String

    public init(id: Int64, text: String) {
        self.id = id
        self.text = text
    }

    /// Every line of a text JSONL file, in file order. Each line must be a JSON object with an integer `text_id`
    /// (the reference collates ids into a tensor) and a `text`; other fields are ignored. A malformed line or an
    /// id seen before is an error naming the file and line.
    public static func readAll(path: String) throws(DatasetError) -> [EvalText] {
        let reader = try TextLineReader(path: path)
        var texts: [EvalText] = []
        var firstLineOfId: [Int64: Int] = [:]
        while let line = try reader.nextString() {
            func malformed(_ reason: String) -> DatasetError {
                .malformedLine(file: path, line: reader.lineNumber, reason: reason)
            }
            let value: PythonValue
            do { value = try PythonJSON.parse(line.pythonStripped) } catch { throw malformed("invalid JSON: \(error.message)") }
            guard case let .dict(object) = value else { throw malformed("expected a JSON object, found \(value.typeName)") }
            guard let idValue = object["text_id"] else { throw malformed("missing field \"text_id\"") }
            guard let id = idValue.int64Value else { throw malformed("text_id is not a 64-bit integer (\(idValue.typeName))") }
            guard let text = object["text"] else { throw malformed("missing field \"text\"") }
            if let first = firstLineOfId.updateValue(reader.lineNumber, forKey: id) {
                throw malformed("duplicate text_id \(id) (first on line \(first))")
            }
            texts.append(EvalText(id: id, text: text.pythonStr))
        }
        return texts
    }
}
