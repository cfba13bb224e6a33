/// WordPiece as the reference does it: greedy longest-match-first from the left, later pieces looked up with a
/// `##` prefix; a token longer than 200 scalars, or one with a position where no piece matches, becomes one `[UNK]`
/// (pieces already found are dropped).
public struct WordPieceTokenizer: Sendable {
    /// The reference's `max_input_chars_per_word`.
    public static let maximumScalarsPerWord = 200

    /// The vocabulary pieces are looked up in.
    public let vocabulary: Vocabulary
    /// The id of `[UNK]`.
    public let unknownID: Int

    /// A WordPiece tokenizer over `vocabulary`, which must hold `[UNK]`.
    public init(vocabulary: Vocabulary, source: String = "vocabulary") throws {
        guard let unknownID = vocabulary.id(of: "[UNK]") else {
            throw TokenizerError.missingSpecialToken("[UNK]", source: source)
        }
        self.vocabulary = vocabulary
        self.unknownID = unknownID
    }

    /// The ids of the word pieces of one basic token.
    public func ids(for token: String) -> [Int] {
        var ids: [Int] = []
        appendIDs(for: Array(token.unicodeScalars)[...], to: &ids)
        return ids
    }

    /// Appends the ids of the word pieces of one basic token (no whitespace inside) to `ids`.
    func appendIDs(for token: ArraySlice<Unicode.Scalar>, to ids: inout [Int]) {
        guard token.count <= Self.maximumScalarsPerWord else {
            ids.append(unknownID)
            return
        }
        let firstPiece = ids.count
        var start = token.startIndex
        while start < token.endIndex {
            guard let match = vocabulary.longestMatch(token[start...], continuation: start != token.startIndex) else {
                ids.removeSubrange(firstPiece...)
                ids.append(unknownID)
                return
            }
            ids.append(match.id)
            start += match.length
        }
    }
}
