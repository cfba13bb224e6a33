/// The reference's text tokenizer (`FullTokenizer` + `tokenize`): basic tokenisation, WordPiece, then
/// `[CLS] … [SEP]` framing, truncation and zero padding to a context length.
public struct Tokenizer: Sendable {
    /// The first stage: cleaning, CJK splitting, lower-casing, accent stripping, punctuation splitting.
    public let basic = BasicTokenizer()
    /// The second stage: word pieces and their ids.
    public let wordPiece: WordPieceTokenizer
    /// The ids of `[CLS]` and `[SEP]`; padding is id 0.
    public let classID: Int, separatorID: Int

    /// The reference's default context length.
    public static let defaultContextLength = 52

    /// A tokenizer over `vocabulary`, which must hold `[UNK]`, `[CLS]` and `[SEP]`; `source` names it in errors.
    public init(vocabulary: Vocabulary, source: String = "vocabulary") throws {
        wordPiece = try WordPieceTokenizer(vocabulary: vocabulary, source: source)
        guard let classID = vocabulary.id(of: "[CLS]") else {
            throw TokenizerError.missingSpecialToken("[CLS]", source: source)
        }
        guard let separatorID = vocabulary.id(of: "[SEP]") else {
            throw TokenizerError.missingSpecialToken("[SEP]", source: source)
        }
        self.classID = classID
        self.separatorID = separatorID
    }

    /// The tokenizer over the bundled `vocab.txt`, loaded once per process.
    public static func bundled() throws -> Tokenizer {
        try bundledTokenizer.get()
    }

    private static let bundledTokenizer: Result<Tokenizer, TokenizerError> = {
        do {
            return .success(try Tokenizer(vocabulary: Vocabulary.bundled(), source: "bundled vocab.txt"))
        } catch let error as TokenizerError {
            return .failure(error)
        } catch {
            return .failure(.unreadableFile(path: "bundled vocab.txt", reason: "\(error)"))
        }
    }()

    /// The vocabulary.
    public var vocabulary: Vocabulary { wordPiece.vocabulary }

    /// The word-piece ids of `text`, unframed and untruncated.
    public func ids(for text: String) -> [Int] {
        var ids: [Int] = []
        basic.forEachToken(in: text) { wordPiece.appendIDs(for: $0, to: &ids) }
        return ids
    }

    /// The word-piece strings of `text` (`[UNK]` for unknown words).
    public func tokens(for text: String) -> [String] {
        ids(for: text).map { vocabulary.tokens[$0] }
    }

    /// `tokenize([text], context_length)[0]`: `[CLS]`, the first `contextLength − 2` ids of `text`, `[SEP]`, then
    /// zeros up to `contextLength`.
    public func tokenize(_ text: String, contextLength: Int = defaultContextLength) throws -> [Int] {
        guard contextLength >= 2 else { throw TokenizerError.contextLengthTooShort(contextLength) }
        var row = [classID]
        row.reserveCapacity(contextLength)
        basic.forEachToken(in: text) { token in
            if row.count <= contextLength - 2 { wordPiece.appendIDs(for: token, to: &row) }
        }
        row.removeSubrange(min(row.count, contextLength - 1)...)
        row.append(separatorID)
        row.append(contentsOf: repeatElement(0, count: contextLength - row.count))
        return row
    }

    /// `tokenize(texts, context_length)`: one padded row of `contextLength` ids per text.
    public func tokenize(_ texts: [String], contextLength: Int = defaultContextLength) throws -> [[Int]] {
        try texts.map { try tokenize($0, contextLength: contextLength) }
    }
}

/// `cn_clip.clip.tokenize` with the bundled vocabulary: one row of `contextLength` ids per text
/// (`[CLS]`, at most `contextLength − 2` word-piece ids, `[SEP]`, zero padding). Does not apply `preprocessText`.
public func tokenize(_ texts: [String], contextLength: Int = Tokenizer.defaultContextLength) throws -> [[Int]] {
    try Tokenizer.bundled().tokenize(texts, contextLength: contextLength)
}
