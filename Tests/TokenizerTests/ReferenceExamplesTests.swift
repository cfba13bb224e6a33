import Tokenizer
import XCTest

/// Examples from REFERENCE.md §3.5 (ids of the reference's `tokenize`, context 52) and WordPiece rules on a tiny
/// vocabulary; exact equality.
final class ReferenceExamplesTests: XCTestCase {
    private func unpadded(_ text: String, contextLength: Int = 52) throws -> [Int] {
        let row = try tokenize([text], contextLength: contextLength)[0]
        XCTAssertEqual(row.count, contextLength)
        return Array(row.prefix { $0 != 0 })
    }

    func testTableRows() throws {
        let rows: [(String, [Int])] = [
            ("杰尼龟", [101, 3345, 2225, 7991, 102]),
            ("2023年12月31日 23:59", [101, 9707, 8152, 2399, 8110, 3299, 8176, 3189, 8133, 131, 8257, 102]),
            ("Café naïve résumé Ångström", [101, 8377, 11469, 8857, 8847, 11442, 8505, 9064, 9726, 11343, 8175, 102]),
            ("tab\there\nnewline\r\u{3000}ideo\u{a0}nbsp\u{200b}zwsp\u{2028}ls\u{0}nul\u{fffd}repl\u{b}vt",
             [101, 10476, 10815, 8343, 8762, 11319, 8167, 8400, 8253, 10402, 8187, 154, 12480, 10086, 8358, 12569,
              8225, 8165, 102]),
            ("Straße İstanbul ΟΔΟΣ ﬁ ligature",
             [101, 8811, 8332, 13361, 8154, 8310, 10105, 11381, 8178, 222, 13383, 13392, 13395, 100, 9341, 8676,
              11704, 102]),
            ("한국어 テスト カタカナ ㄅㄆ",
             [101, 303, 10928, 9877, 13454, 13479, 11953, 13463, 13472, 612, 10579, 598, 11011, 9770, 10714, 647,
              13706, 102]),
            ("\u{f900} \u{20000} \u{3400} 丽", [101, 6488, 100, 100, 714, 102]),
            (String(repeating: "a", count: 201), [101, 100, 102]),
            (String(repeating: "한", count: 70), [101, 100, 102]),
            ("abc\u{301}def", [101, 8425, 8510, 8189, 102]),
            ("\u{2028}", [101, 102]),
        ]
        for (text, ids) in rows {
            XCTAssertEqual(try unpadded(text), ids, text)
        }
        XCTAssertEqual(try tokenize(["短"], contextLength: 8)[0], [101, 4764, 102, 0, 0, 0, 0, 0])
    }

    func testPreprocessTextLowersAndStraightensDoubleCurlyQuotesOnly() throws {
        let text = "\u{201C}双引号\u{201D}和\u{2018}单引号\u{2019}，还有《书名号》！"
        XCTAssertEqual(preprocessText(text), "\"双引号\"和\u{2018}单引号\u{2019}，还有《书名号》！")
        XCTAssertEqual(try unpadded(preprocessText(text)),
                       [101, 107, 1352, 2471, 1384, 107, 1469, 100, 1296, 2471, 1384, 100, 8024, 6820, 3300, 517, 741,
                        1399, 1384, 518, 8013, 102])
        XCTAssertEqual(preprocessText("ΟΔΟΣ İ"), "οδος i\u{307}")
    }

    func testTruncationKeepsSeparatorAndContextLengthMustHoldIt() throws {
        let tokenizer = try Tokenizer.bundled()
        let long = String(repeating: "这是一个非常长的句子", count: 10)
        let row = try tokenizer.tokenize(long, contextLength: 52)
        XCTAssertEqual(row.count, 52)
        XCTAssertEqual(Array(row.prefix(6)), [101, 6821, 3221, 671, 702, 7478])
        XCTAssertEqual(row.last, 102)
        XCTAssertEqual(Array(row[1..<51]), Array(tokenizer.ids(for: long).prefix(50)))
        XCTAssertEqual(try tokenizer.tokenize(long, contextLength: 2), [101, 102])
        XCTAssertThrowsError(try tokenizer.tokenize(long, contextLength: 1)) {
            XCTAssertEqual($0 as? TokenizerError, .contextLengthTooShort(1))
        }
    }

    func testWordPieceIsGreedyAndUnknownWordsAreWhole() throws {
        let vocabulary = Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "una",
                                             "##ff", "##a", "a"])
        let tokenizer = try Tokenizer(vocabulary: vocabulary)
        XCTAssertEqual(tokenizer.tokens(for: "unaffable"), ["una", "##ff", "##able"])
        XCTAssertEqual(tokenizer.tokens(for: "unaffablex a"), ["[UNK]", "a"])
        XCTAssertEqual(tokenizer.tokens(for: String(repeating: "a", count: 200)).count, 200)
        XCTAssertEqual(tokenizer.tokens(for: String(repeating: "a", count: 201)), ["[UNK]"])
        XCTAssertEqual(try tokenizer.tokenize("a", contextLength: 5), [2, 10, 3, 0, 0])
    }

    func testBasicTokens() {
        XCTAssertEqual(BasicTokenizer().tokenize("Hello,World! 你好\u{200B}x\u{2029}Ab\u{301}C #"),
                       ["hello", ",", "world", "!", "你", "好", "x", "abc", "#"])
    }
}
