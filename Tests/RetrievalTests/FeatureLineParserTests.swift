import Dataset
import Foundation
import Retrieval
import XCTest

/// The fast feature-line path gives what the general JSON path gives: each number parsed as a correctly rounded
/// double (checked against Swift's own `Double(String)`), then rounded to float32; odd lines fall back unchanged.
final class FeatureLineParserTests: XCTestCase {
    func testNumbersAndLayoutsReadAsPython() throws {
        let numbers = ["-0.016992714256048203", "-1.2149809626862407e-05", "0.16424798965454102", "1E+2", "0", "-0.0",
                       "3", "123456789012345", "1234567890123456789", "5e-324", "0.30000000000000004", "1.0000000596046448",
                       "9007199254740993", "0.1000000000000000055511151231257827", "2.5E-3", "-7"]
        let lines = [
            "{\"image_id\": 25, \"feature\": [\(numbers.joined(separator: ", "))]}",
            "  {\"feature\":[\(numbers.joined(separator: ","))],\"image_id\":26}\t",
            "{\"image_id\": 27, \"feature\": [\(numbers.joined(separator: ", "))], \"extra\": \"é\"}",
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let records = try FeatureJSONLReader(path: file.path, kind: .image).readAll()
        XCTAssertEqual(records.map(\.id), [25, 26, 27])
        let expected = numbers.map { text -> Float in
            // Python ints (no '.', no exponent) become float32 directly from the exact integer.
            if !text.contains(where: { ".eE".contains($0) }) { return Float(Int64(text) ?? 0) }
            return Float(Double(text) ?? .nan)
        }
        for record in records {
            XCTAssertEqual(record.feature.map(\.bitPattern), expected.map(\.bitPattern), "record \(record.id)")
        }
        XCTAssertEqual(records[0].feature[4].sign, .plus, "the integer -0 is +0.0")
        XCTAssertEqual(records[0].feature[5].sign, .minus, "the float -0.0 keeps its sign")
    }

    func testMalformedNumbersAreErrors() throws {
        for bad in ["01", "1.", ".5", "1e", "+1", "0x10", "1,,2"] {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).jsonl")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data("{\"text_id\": 1, \"feature\": [\(bad)]}\n".utf8).write(to: file)
            XCTAssertThrowsError(try FeatureJSONLReader(path: file.path, kind: .text).readAll(), bad) { error in
                guard case .malformedLine(_, 1, _)? = error as? DatasetError else { return XCTFail("\(bad): \(error)") }
            }
        }
    }
}
