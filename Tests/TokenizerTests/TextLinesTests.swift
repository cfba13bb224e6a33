import Tokenizer
import XCTest

/// The stdin and stdout formats of `cnclip tokenize` (exact equality).
final class TextLinesTests: XCTestCase {
    func testStdinSplitsOnNewlineOnly() throws {
        let input = "a\r\nb\u{2028}c\u{2029}d\u{85}e\u{b}\u{c}\n\n\r\nlast"
        XCTAssertEqual(try TextLines.split(Array(input.utf8)),
                       ["a\r", "b\u{2028}c\u{2029}d\u{85}e\u{b}\u{c}", "", "\r", "last"])
        XCTAssertEqual(try TextLines.split(Array("one\ntwo\n".utf8)), ["one", "two"])
        XCTAssertEqual(try TextLines.split(Array("\n".utf8)), [""])
        XCTAssertEqual(try TextLines.split([UInt8]()), [])
    }

    func testInvalidUTF8NamesTheLine() {
        XCTAssertThrowsError(try TextLines.split(Array("ok\n".utf8) + [0xC3], source: "<stdin>")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidUTF8(source: "<stdin>", line: 2))
        }
    }

    func testRowsPrintAsPythonJSON() throws {
        let row = try tokenize(["短"], contextLength: 8)[0]
        XCTAssertEqual(TextLines.jsonArray(row), "[101, 4764, 102, 0, 0, 0, 0, 0]")
        XCTAssertEqual(TextLines.jsonArray([]), "[]")
    }
}
