import Foundation
import TestSupport
import Tokenizer
import XCTest

/// Token ids against the reference's `cn_clip.clip.tokenize` on the committed suite (exact equality).
final class ReferenceCasesTests: XCTestCase {
    private struct Case: Decodable {
        let text: String
        let context_length: Int
        let ids: [Int]
        let preprocess: Bool?
        let preprocessed: String?
    }

    private func loadCases() throws -> [Case] {
        try JSONDecoder().decode([Case].self, from: Fixtures.data("tokenizer/cases.json"))
    }

    private func escaped(_ text: String) -> String {
        text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
            .joined()
    }

    func testSuiteCoversAtLeast300StringsAtContextLengths52And24() throws {
        let cases = try loadCases()
        let texts = Set(cases.map { Array($0.text.unicodeScalars).map(\.value) })
        XCTAssertGreaterThanOrEqual(texts.count, 300)
        for length in [52, 24, 8, 77] {
            XCTAssertTrue(cases.contains { $0.context_length == length }, "no case at context length \(length)")
        }
        XCTAssertGreaterThan(cases.filter { $0.preprocess == true }.count, 50)
    }

    func testIDsEqualTheReference() throws {
        let tokenizer = try Tokenizer.bundled()
        var failures = 0
        for testCase in try loadCases() {
            var text = testCase.text
            if testCase.preprocess == true {
                text = preprocessText(testCase.text)
                XCTAssertEqual(Array(text.unicodeScalars), testCase.preprocessed.map { Array($0.unicodeScalars) },
                               "preprocessText(\(escaped(testCase.text)))")
            }
            let ids = try tokenizer.tokenize(text, contextLength: testCase.context_length)
            if ids != testCase.ids {
                failures += 1
                XCTFail("\(escaped(testCase.text)) @\(testCase.context_length) preprocess=\(testCase.preprocess ?? false): "
                        + "got \(ids), want \(testCase.ids)")
            }
            if failures > 20 { return }
        }
    }
}
