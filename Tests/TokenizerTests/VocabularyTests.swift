import Foundation
import Tokenizer
import XCTest

/// The bundled vocabulary against the facts in REFERENCE.md §3.1, and the `load_vocab` line rules.
final class VocabularyTests: XCTestCase {
    func testBundledVocabularyIdsAreLineNumbers() throws {
        let vocabulary = try Vocabulary.bundled()
        XCTAssertEqual(vocabulary.count, 21128)
        // By scalars: Swift's `hasPrefix` compares characters, and "##" + a combining mark is not "#", "#".
        XCTAssertEqual(vocabulary.tokens.filter { $0.unicodeScalars.starts(with: "##".unicodeScalars) }.count, 9614)
        let expected: [String: Int] = ["[PAD]": 0, "[unused1]": 1, "[unused99]": 99, "[UNK]": 100, "[CLS]": 101,
                                       "[SEP]": 102, "[MASK]": 103, "<S>": 104, "<T>": 105, "\"": 107,
                                       "\u{FF0C}": 8024, "的": 4638, "": 343, "##": 13502]
        for (token, id) in expected {
            XCTAssertEqual(vocabulary.id(of: token), id, token)
        }
        for missing in ["\u{201C}", "\u{201D}", "\u{2018}", "\u{2019}", "\u{2026}", "\u{2028}"] {
            XCTAssertNil(vocabulary.id(of: missing), missing)
        }
    }

    func testLinesEndAtUniversalNewlinesOnlyAndArePythonStripped() throws {
        let text = "a\r\nb\rc\n\u{2028}\n ##x\u{3000}\nd\u{2028}e\nlast"
        let vocabulary = try Vocabulary(fileBytes: Array(text.utf8), source: "test")
        XCTAssertEqual(vocabulary.tokens, ["a", "b", "c", "", "##x", "d\u{2028}e", "last"])
    }

    func testRepeatedTokenKeepsItsLastIdAndLookupIsByExactScalars() throws {
        let vocabulary = Vocabulary(tokens: ["x", "\u{E9}", "x", "e\u{301}"])
        XCTAssertEqual(vocabulary.id(of: "x"), 2)
        XCTAssertEqual(vocabulary.id(of: "\u{E9}"), 1)
        XCTAssertEqual(vocabulary.id(of: "e\u{301}"), 3)
    }

    func testInvalidUTF8NamesTheLine() {
        let bytes: [UInt8] = Array("ok\nfine\n".utf8) + [0xFF, 0x0A]
        XCTAssertThrowsError(try Vocabulary(fileBytes: bytes, source: "v.txt")) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(source: "v.txt", line: 3))
            XCTAssertEqual("\(error)", "v.txt:3: not valid UTF-8")
        }
    }

    func testMissingFileIsAnError() {
        let url = URL(fileURLWithPath: "/nonexistent/vocab.txt")
        XCTAssertThrowsError(try Vocabulary(contentsOf: url)) { error in
            guard case let .unreadableFile(path, _)? = error as? TokenizerError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(path, "/nonexistent/vocab.txt")
        }
    }

    func testTokenizerNeedsItsSpecialTokens() {
        XCTAssertThrowsError(try Tokenizer(vocabulary: Vocabulary(tokens: ["[UNK]", "[SEP]"]), source: "small")) {
            XCTAssertEqual($0 as? TokenizerError, .missingSpecialToken("[CLS]", source: "small"))
        }
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: Vocabulary(tokens: ["a"]))) {
            XCTAssertEqual($0 as? TokenizerError, .missingSpecialToken("[UNK]", source: "vocabulary"))
        }
    }
}
