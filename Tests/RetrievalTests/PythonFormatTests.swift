import Dataset
import Foundation
import Retrieval
import TestSupport
import XCTest

/// Python number and JSON formatting against Python itself (Scripts/fixtures/gen_retrieval.py): exact strings.
final class PythonFormatTests: XCTestCase {
    func testFloatReprMatchesPython() throws {
        let cases = try XCTUnwrap(Fixtures.json("retrieval/floats.json") as? [[String]])
        XCTAssertGreaterThan(cases.count, 2900)
        var mismatches: [String] = []
        for entry in cases {
            let bits = try XCTUnwrap(UInt64(entry[0], radix: 16)).byteSwapped
            let value = Double(bitPattern: bits)
            if pythonRepr(value) != entry[1] { mismatches.append("\(entry[1]) -> \(pythonRepr(value))") }
        }
        XCTAssertEqual(mismatches, [])
        XCTAssertEqual(pythonRepr(Float(0.1)), "0.10000000149011612")
        XCTAssertEqual([Double.nan, .infinity, -.infinity].map(pythonRepr), ["nan", "inf", "-inf"])
    }

    func testJSONLoadsAndDumpsMatchPython() throws {
        let cases = try XCTUnwrap(Fixtures.json("retrieval/json.json") as? [[String: String]])
        XCTAssertGreaterThan(cases.count, 60)
        for entry in cases {
            let document = try XCTUnwrap(entry["doc"])
            do {
                let value = try PythonJSON.parse(document)
                XCTAssertNil(entry["error"], "accepted \(document)")
                XCTAssertEqual(value.pythonRepr, entry["repr"], document)
                XCTAssertEqual(value.pythonStr, entry["str"], document)
                XCTAssertEqual(value.jsonDumps, entry["dumps"], document)
            } catch {
                XCTAssertEqual(error.message, entry["error"], document)
            }
        }
    }

    func testPythonEqualityAndHashing() throws {
        XCTAssertEqual(PythonValue.int(1), .float(1.0))
        XCTAssertEqual(PythonValue.int(1), .bool(true))
        XCTAssertNotEqual(PythonValue.int(1), .string("1"))
        XCTAssertEqual(PythonValue.float(1.0).pythonHash, 1)
        XCTAssertEqual(PythonValue.int(-1).pythonHash, -2)
        XCTAssertEqual(PythonValue.float(0.5).pythonHash, 1_152_921_504_606_846_976)  // hash(0.5) in CPython
        XCTAssertEqual(PythonValue.int(1 << 61).pythonHash, 1)  // 2**61 mod (2**61 - 1)
    }
}
