import Dataset
import Foundation
import TestSupport
import XCTest

/// Pair records against Python's `pickle.dumps((image_id, text_id, text), protocol=p)` for p = 2…5
/// (Scripts/fixtures/gen_dataset.py): protocol-4 output byte for byte, all protocols decoded.
final class PairPickleTests: XCTestCase {
    func testEncodeAndDecodeMatchPython() throws {
        let fixture = try XCTUnwrap(Fixtures.json("dataset/pickles.json") as? [String: Any])
        XCTAssertEqual(fixture["default_protocol"] as? Int, 4)
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 50)
        for entry in cases {
            let unit = try XCTUnwrap(entry["text_unit"] as? String)
            let text = String(repeating: unit, count: try XCTUnwrap(entry["text_repeat"] as? Int))
            let record = PairRecord(imageId: try XCTUnwrap((entry["image_id"] as? NSNumber)?.int64Value),
                                    textId: try XCTUnwrap((entry["text_id"] as? NSNumber)?.int64Value), text: text)
            let bytes: [UInt8]
            if let full = entry["pickle"] as? String {
                bytes = bytesFromHex(full)
            } else {
                bytes = bytesFromHex(try XCTUnwrap(entry["head"] as? String)) + Array(text.utf8)
                    + bytesFromHex(try XCTUnwrap(entry["tail"] as? String))
            }
            let label = "\(record.imageId), \(record.textId), \(unit)×\(text.count), protocol \(entry["protocol"] ?? "")"
            XCTAssertEqual(try PairPickle.decode(bytes), record, label)
            if entry["protocol"] as? Int == 4 {
                XCTAssertEqual(PairPickle.encode(record), bytes, label)
            }
        }
    }

    func testOtherPicklesAreRejected() throws {
        let fixture = try XCTUnwrap(Fixtures.json("dataset/pickles.json") as? [String: Any])
        let bad = try XCTUnwrap(fixture["bad"] as? [String])
        XCTAssertEqual(bad.count, 11)
        for hex in bad {
            XCTAssertThrowsError(try PairPickle.decode(bytesFromHex(hex)), hex)
        }
    }

    private func bytesFromHex(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
