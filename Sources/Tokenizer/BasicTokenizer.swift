/// BERT's basic tokenisation with lower-casing, on Unicode scalars with Python 3.11 (Unicode 14.0) semantics:
///
/// 1. delete U+0000, U+FFFD and control characters (categories Cc and Cf, except tab, newline and carriage return);
///    tab, newline, carriage return and category Zs become spaces;
/// 2. put every CJK ideograph (the reference's eight ranges) in a word of its own;
/// 3. split on Python whitespace (so U+2028 and U+2029 separate words too);
/// 4. per word: `str.lower()` (with final sigma), NFD, drop category Mn;
/// 5. split each word around punctuation (ASCII symbols and categories P*), each punctuation character a token.
public struct BasicTokenizer: Sendable {
    /// A basic tokenizer (it has no settings: lower-casing is always on, as in the reference).
    public init() {}

    /// The basic tokens of `text`.
    public func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        forEachToken(in: text) { token in
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: token)
            tokens.append(String(scalars))
        }
        return tokens
    }

    /// Calls `body` with the scalars of each basic token of `text`, in order.
    func forEachToken(in text: String, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        var word: [Unicode.Scalar] = []
        var pieces: [Unicode.Scalar] = []
        word.reserveCapacity(32)
        func finishWord() {
            guard !word.isEmpty else { return }
            splitWord(word, scratch: &pieces, body)
            word.removeAll(keepingCapacity: true)
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                if value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D {
                    finishWord()
                } else if value >= 0x20 && value != 0x7F {
                    word.append(scalar)
                }
            } else if Self.isCJKIdeograph(value) {
                finishWord()
                word.append(scalar)
                if Self.isCJKCompatibilityIdeograph(value) {
                    finishWord()
                } else {
                    body(word[...])
                    word.removeAll(keepingCapacity: true)
                }
            } else if value == 0xFFFD {
                continue
            } else {
                switch PythonUnicode.generalCategory(scalar) {
                case .control, .format:
                    continue
                case .spaceSeparator:
                    finishWord()
                default:
                    if PythonUnicode.isWhitespace(scalar) { finishWord() } else { word.append(scalar) }
                }
            }
        }
        finishWord()
    }

    /// Steps 4 and 5 for one whitespace-free word; the final whitespace split of the reference is kept for fidelity.
    private func splitWord(_ word: [Unicode.Scalar], scratch: inout [Unicode.Scalar],
                           _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        if word.allSatisfy(\.isASCII) {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: word.lazy.map(PythonUnicode.asciiLowercased))
        } else {
            scratch = PythonUnicode.nfd(PythonUnicode.lowercased(word))
            scratch.removeAll { PythonUnicode.generalCategory($0) == .nonspacingMark }
        }
        var start = 0
        for index in scratch.indices {
            let scalar = scratch[index]
            if Self.isPunctuation(scalar) {
                if start < index { body(scratch[start..<index]) }
                body(scratch[index...index])
                start = index + 1
            } else if !scalar.isASCII && PythonUnicode.isWhitespace(scalar) {
                if start < index { body(scratch[start..<index]) }
                start = index + 1
            }
        }
        if start < scratch.count { body(scratch[start...]) }
    }

    /// The reference's CJK test: 4E00–9FFF, 3400–4DBF, 20000–2A6DF, 2A700–2B73F, 2B740–2B81F, 2B820–2CEAF,
    /// F900–FAFF, 2F800–2FA1F (not kana, Hangul, bopomofo, CJK punctuation or extension G and later).
    public static func isCJKIdeograph(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// The CJK compatibility ranges, the only CJK ideographs that NFD changes.
    private static func isCJKCompatibilityIdeograph(_ value: UInt32) -> Bool {
        (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }

    /// The reference's punctuation test: ASCII 33–47, 58–64, 91–96, 123–126, or any category starting with "P".
    public static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126:
            return true
        case 0..<128:
            return false
        default:
            return PythonUnicode.isPunctuationCategory(scalar)
        }
    }
}
