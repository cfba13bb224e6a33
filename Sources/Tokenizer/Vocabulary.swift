import Foundation

/// The WordPiece vocabulary: token id = 0-based line number of `vocab.txt`, as the reference's `load_vocab` reads it.
///
/// Lines end at `\n`, `\r\n` or `\r` (Python's universal newlines; U+2028 is *not* a line break) and are stripped of
/// Python whitespace, so line 343 (U+2028 alone) becomes the token "". A token occurring twice keeps its last id.
/// Tokens are matched by exact Unicode scalars (not by Swift's canonical-equivalence `String ==`), through a trie.
public struct Vocabulary: Sendable {
    /// Token of each id.
    public let tokens: [String]
    private let trie: ScalarTrie

    /// A vocabulary whose ids are the positions in `tokens` (no stripping applied).
    public init(tokens: [String]) {
        self.tokens = tokens
        var trie = ScalarTrie()
        for (id, token) in tokens.enumerated() {
            trie.insert(token.unicodeScalars, id: Int32(id))
        }
        self.trie = trie
    }

    /// Reads a `vocab.txt` file (UTF-8, one token per line).
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
        try self.init(fileBytes: data, source: url.path)
    }

    /// Parses the bytes of a `vocab.txt` file; `source` names it in errors.
    public init(fileBytes: some Collection<UInt8>, source: String) throws {
        var tokens: [String] = []
        for (number, line) in Self.universalNewlineLines(Array(fileBytes)).enumerated() {
            guard let text = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.invalidUTF8(source: source, line: number + 1)
            }
            tokens.append(Self.strippingPythonWhitespace(text))
        }
        self.init(tokens: tokens)
    }

    /// The vocabulary bundled with this module (the reference's `vocab.txt`, 21128 tokens).
    public static func bundled() throws -> Vocabulary {
        guard let url = Bundle.module.url(forResource: "vocab", withExtension: "txt") else {
            throw TokenizerError.unreadableFile(path: "vocab.txt", reason: "not found in the Tokenizer resource bundle")
        }
        return try Vocabulary(contentsOf: url)
    }

    /// Number of ids (lines).
    public var count: Int { tokens.count }

    /// The id of `token` (exact scalar match), or nil.
    public func id(of token: String) -> Int? {
        var node = ScalarTrie.root
        for scalar in token.unicodeScalars {
            guard let child = trie.child(of: node, scalar) else { return nil }
            node = child
        }
        return trie.id(at: node)
    }

    /// The longest non-empty prefix of `scalars` that is a token (`"##"`-prefixed when `continuation`), as
    /// its length in scalars and its id; nil when no prefix is.
    func longestMatch(_ scalars: ArraySlice<Unicode.Scalar>, continuation: Bool) -> (length: Int, id: Int)? {
        guard let start = continuation ? trie.continuationRoot : ScalarTrie.root else { return nil }
        var node = start
        var best: (length: Int, id: Int)?
        var length = 0
        for scalar in scalars {
            guard let child = trie.child(of: node, scalar) else { break }
            node = child
            length += 1
            if let id = trie.id(at: node) { best = (length, id) }
        }
        return best
    }

    /// Lines of `bytes` split at `\n`, `\r\n` or `\r`; a final line without terminator counts, an empty tail does not.
    private static func universalNewlineLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A || byte == 0x0D {
                lines.append(bytes[start..<index])
                if byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A { index += 1 }
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        return lines
    }

    /// Python's `str.strip()`.
    private static func strippingPythonWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !PythonUnicode.isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !PythonUnicode.isWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}

/// A trie over Unicode scalars with all edges in one dictionary keyed by (node, scalar).
private struct ScalarTrie: Sendable {
    static let root: Int32 = 0
    private var edges: [UInt64: Int32] = [:]
    private var ids: [Int32] = [-1]
    /// The node reached by "##", where continuation pieces start.
    private(set) var continuationRoot: Int32?

    mutating func insert(_ scalars: String.UnicodeScalarView, id: Int32) {
        var node = Self.root
        for scalar in scalars {
            let key = Self.key(node, scalar)
            if let child = edges[key] {
                node = child
            } else {
                let child = Int32(ids.count)
                ids.append(-1)
                edges[key] = child
                node = child
            }
        }
        ids[Int(node)] = id
        if continuationRoot == nil, let hash = child(of: Self.root, "#") { continuationRoot = child(of: hash, "#") }
    }

    func child(of node: Int32, _ scalar: Unicode.Scalar) -> Int32? {
        edges[Self.key(node, scalar)]
    }

    func id(at node: Int32) -> Int? {
        let id = ids[Int(node)]
        return id >= 0 ? Int(id) : nil
    }

    private static func key(_ node: Int32, _ scalar: Unicode.Scalar) -> UInt64 {
        UInt64(UInt32(bitPattern: node)) << 21 | UInt64(scalar.value)
    }
}
