import Dataset
import Foundation
import Retrieval
import TestSupport
import XCTest

/// Feature files as extract_features.py writes them (Scripts/fixtures/gen_retrieval.py): reading them and writing
/// the same records back reproduces the files byte for byte.
final class FeatureJSONLTests: XCTestCase {
    func testRoundTripIsByteIdentical() throws {
        for (name, kind, count) in [("features.txt_feat.jsonl", FeatureRecord.Kind.text, 3), ("features.img_feat.jsonl", .image, 4)] {
            let source = Fixtures.url("retrieval/\(name)")
            let records = try FeatureJSONLReader(path: source.path, kind: kind).readAll()
            XCTAssertEqual(records.count, count)
            XCTAssertEqual(records.map { $0.feature.count }, Array(repeating: 16, count: count))
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
            defer { try? FileManager.default.removeItem(at: copy) }
            let writer = try FeatureJSONLWriter(path: copy.path, kind: kind)
            for record in records { try writer.write(record) }
            try writer.finish()
            XCTAssertEqual(try Data(contentsOf: copy), try Data(contentsOf: source), name)
        }
        let records = try FeatureJSONLReader(path: Fixtures.url("retrieval/features.img_feat.jsonl").path, kind: .image).readAll()
        XCTAssertEqual(records.map(\.id), [1_000_002, 25, 7_454_547_004, 99])
    }

    func testMalformedLineNamesFileAndLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("{\"text_id\": 1, \"feature\": [0.5]}\n{\"text_id\": 2, \"feature\": [\"x\"]}\n".utf8).write(to: file)
        let reader = try FeatureJSONLReader(path: file.path, kind: .text)
        XCTAssertEqual(try reader.next(), FeatureRecord(id: 1, feature: [0.5]))
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual(error as? DatasetError,
                           .malformedLine(file: file.path, line: 2, reason: "feature[0] is not a number (str)"))
        }
    }
}
