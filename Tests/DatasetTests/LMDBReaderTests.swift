import Dataset
import Foundation
import TestSupport
import XCTest

/// The readers on the reference's LMDB (Scripts/fixtures/gen_dataset.py): counts, every pair record as the
/// reference's `pickle.loads` returns it, images in cursor (key) order.
final class LMDBReaderTests: XCTestCase {
    private let root = Fixtures.url("dataset/small_lmdb/test").path

    func testPairsMatchReferenceUnpickling() throws {
        let dump = try XCTUnwrap(Fixtures.json("dataset/small_dump.json") as? [String: Any])
        let pairs = try XCTUnwrap(dump["pairs"] as? [[Any]])
        let reader = try LMDBPairsReader(path: root + "/pairs")
        XCTAssertEqual(reader.count, pairs.count)
        XCTAssertEqual(reader.count, 16)
        for (index, pair) in pairs.enumerated() {
            let record = try reader.record(at: index)
            XCTAssertEqual(record.imageId, (pair[0] as? NSNumber)?.int64Value, "pair \(index)")
            XCTAssertEqual(record.textId, (pair[1] as? NSNumber)?.int64Value, "pair \(index)")
            XCTAssertEqual(record.text, pair[2] as? String, "pair \(index)")
        }
        XCTAssertThrowsError(try reader.record(at: 16)) { error in
            XCTAssertEqual(error as? DatasetError, .missingKey(path: root + "/pairs", key: "16"))
        }
    }

    func testImagesInKeyOrder() throws {
        let dump = try XCTUnwrap(Fixtures.json("dataset/small_dump.json") as? [String: Any])
        let envs = try XCTUnwrap(dump["envs"] as? [String: Any])
        let items = try XCTUnwrap((envs["imgs"] as? [String: Any])?["items"] as? [[String]])
        let reader = try LMDBImagesReader(path: root + "/imgs")
        XCTAssertEqual(reader.count, 6)
        var seen: [(Int64, String)] = []
        try reader.forEachImage { id, base64 in
            seen.append((id, base64))
            return true
        }
        let expected = items.filter { $0[0] != hex("num_images") }
        XCTAssertEqual(seen.map { $0.0 }, [1_000_002, 1_000_003, 25, 300, 7_454_547_004, 99])
        XCTAssertEqual(seen.map { hex(String($0.0)) }, expected.map { $0[0] })
        XCTAssertEqual(seen.map { Data($0.1.utf8).base64EncodedString() }, expected.map { $0[1] })
        XCTAssertEqual(try reader.base64(forImageId: 25), seen[2].1)
        XCTAssertThrowsError(try reader.base64(forImageId: 26))
    }

    func testMissingEnvironmentNamesPath() {
        XCTAssertThrowsError(try LMDBImagesReader(path: root + "/nothing")) { error in
            XCTAssertTrue("\(error)".contains(root + "/nothing"), "\(error)")
        }
    }

    private func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
}
