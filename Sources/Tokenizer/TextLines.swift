/// Line-oriented text input and output of `cnclip tokenize`.
public enum TextLines {
    /// The texts of a UTF-8 stream, one per line. Lines end at `\n` only, so `\r`, U+2028, U+2029, U+0085 and other
    /// separators stay inside a text; a final `\n` does not start another (empty) text, but empty lines in between
    /// are texts. `source` names the stream in errors.
    public static func split(_ bytes: some Collection<UInt8>, source: String = "<stdin>") throws -> [String] {
        let bytes = Array(bytes)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let count = bytes.isEmpty || bytes.last == 0x0A ? lines.count - 1 : lines.count
        return try lines.prefix(count).enumerated().map { number, line in
            guard let text = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.invalidUTF8(source: source, line: number + 1)
            }
            return text
        }
    }

    /// A row of ids as one JSON array in Python's `json.dumps` spelling, e.g. `[101, 4764, 102, 0]`.
    public static func jsonArray(_ ids: [Int]) -> String {
        "[" + ids.map(String.init).joined(separator: ", ") + "]"
    }
}
