import Dataset
import Foundation
import XCTest

/// Line parsing and the builder's refusal of bad input: errors name the file and line, nothing is left behind.
final class DatasetLineTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dataset-lines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testTextAnnotationParsing() throws {
        let parsed = try TextAnnotation(parsing: " {\"text_id\": 3000000000, \"text\": \"\\u732b\", \"image_ids\": [1, -2]}\u{3000}",
                                        file: "f", line: 4)
        XCTAssertEqual(parsed, TextAnnotation(textId: 3_000_000_000, text: "猫", imageIds: [1, -2]))
        let cases: [(String, String)] = [
            ("", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
            ("[1]", "expected a JSON object, found list"),
            ("{\"text\": \"a\", \"image_ids\": []}", "missing field \"text_id\""),
            ("{\"text_id\": 1, \"image_ids\": []}", "missing field \"text\""),
            ("{\"text_id\": true, \"text\": \"a\", \"image_ids\": []}", "text_id is not a 64-bit integer (bool)"),
            ("{\"text_id\": 1, \"text\": 2, \"image_ids\": []}", "text is not a string (int)"),
            ("{\"text_id\": 1, \"text\": \"a\", \"image_ids\": 5}", "image_ids is not a list (int)"),
            ("{\"text_id\": 1, \"text\": \"a\", \"image_ids\": [1, 2.0]}", "image_ids[1] is not a 64-bit integer (float)"),
        ]
        for (line, reason) in cases {
            XCTAssertThrowsError(try TextAnnotation(parsing: line, file: "t.jsonl", line: 9), line) { error in
                XCTAssertEqual(error as? DatasetError, .malformedLine(file: "t.jsonl", line: 9, reason: reason))
            }
        }
    }

    func testImageLineParsing() throws {
        XCTAssertEqual(try ImageTSVLine(parsing: "12\tQUJD\r", file: "f", line: 1), try ImageTSVLine(parsing: "12\tQUJD", file: "f", line: 1))
        XCTAssertEqual(try ImageTSVLine(parsing: "-12\tQU-_", file: "f", line: 1).id, "-12")
        let cases: [(String, String)] = [
            ("12", "expected 2 tab-separated fields (id, base64), found 1"),
            ("12\tQUJD\tx", "expected 2 tab-separated fields (id, base64), found 3"),
            ("1a\tQUJD", "image id \"1a\" is not an integer"),
            ("12\tQUJ", "image 12: base64 length 3 is not a multiple of 4"),
            ("12\tQU=D", "image 12: base64 padding '=' before the end (offset 3)"),
            ("12\tQU*D", "image 12: invalid base64 character at offset 2"),
        ]
        for (line, reason) in cases {
            XCTAssertThrowsError(try ImageTSVLine(parsing: line, file: "i.tsv", line: 2), line) { error in
                XCTAssertEqual(error as? DatasetError, .malformedLine(file: "i.tsv", line: 2, reason: reason))
            }
        }
    }

    func testLineReaderUsesUniversalNewlines() throws {
        let file = scratch.appendingPathComponent("lines.txt")
        try Data("a\r\nb\rc\n\nd".utf8).write(to: file)
        let reader = try TextLineReader(path: file.path, bufferSize: 2)
        var lines: [String] = []
        while let line = try reader.nextString() { lines.append(line) }
        XCTAssertEqual(lines, ["a", "b", "c", "", "d"])
        XCTAssertEqual(reader.lineNumber, 5)
        XCTAssertEqual(reader.bytesRead, 9)
    }

    func testBadInputStopsBuildWithoutOutput() throws {
        let good = "1\tQUJD\n2\tQUJD\n"
        let texts = "{\"text_id\": 1, \"text\": \"a\", \"image_ids\": [1]}\n"
        let cases: [(tsv: String, jsonl: String, error: DatasetError)] = [
            (good + "1\tQUJD\n", texts, .duplicateImageId(file: path("test_imgs.tsv"), line: 3, id: "1")),
            ("1\tQUJD\n2\tQU\n", texts,
             .malformedLine(file: path("test_imgs.tsv"), line: 2, reason: "image 2: base64 length 2 is not a multiple of 4")),
            (good, texts + "{\"text_id\": 2,\n",
             .malformedLine(file: path("test_texts.jsonl"), line: 2,
                            reason: "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 15 (char 14)")),
            (good, texts + "\u{FF}\n", .malformedLine(file: path("test_texts.jsonl"), line: 2, reason: "not valid UTF-8")),
        ]
        for (tsv, jsonl, expected) in cases {
            try tsv.write(toFile: path("test_imgs.tsv"), atomically: true, encoding: .utf8)
            // U+00FF stands for the single byte 0xFF, which is not UTF-8.
            let bytes = jsonl.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            try Data(bytes).write(to: URL(fileURLWithPath: path("test_texts.jsonl")))
            XCTAssertThrowsError(try LMDBBuilder(dataDirectory: scratch.path, report: { _ in }).build(splits: ["test"])) { error in
                XCTAssertEqual(error as? DatasetError, expected)
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("lmdb")), [], "nothing left behind")
        }
        try texts.write(toFile: path("test_texts.jsonl"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: path("test_imgs.tsv"))
        XCTAssertThrowsError(try LMDBBuilder(dataDirectory: scratch.path, report: { _ in }).build(splits: ["test"])) { error in
            XCTAssertEqual(error as? DatasetError, .unreadableFile(file: path("test_imgs.tsv"), reason: "No such file or directory"))
        }
    }

    private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }
}
