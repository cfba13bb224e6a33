/// The reference's `_preprocess_text` (training, validation, feature extraction and zero-shot prompts all apply it;
/// `tokenize` does not): Python `str.lower()` of the whole text, then “ (U+201C) and ” (U+201D) become `"`.
/// Single curly quotes are left alone.
public func preprocessText(_ text: String) -> String {
    var result = String.UnicodeScalarView()
    for scalar in PythonUnicode.lowercased(text.unicodeScalars) {
        result.append(scalar == "\u{201C}" || scalar == "\u{201D}" ? "\"" : scalar)
    }
    return String(result)
}
