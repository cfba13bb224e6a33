import Dataset
import Foundation
import Retrieval
import TestSupport
import XCTest

/// evaluation.py / evaluation_tr.py / transform_ir_annotation_to_tr.py against the reference run on the same inputs
/// (Scripts/fixtures/gen_retrieval.py): output files byte for byte, stdout line for line.
final class EvaluationTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("evaluation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testEvaluationMatchesReference() throws {
        let cases = try XCTUnwrap(Fixtures.json("retrieval/evaluation.json") as? [[String: Any]])
        XCTAssertEqual(cases.count, 164)
        for (index, entry) in cases.enumerated() {
            let directory = scratch.appendingPathComponent("case\(index)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = try XCTUnwrap(entry["files"] as? [String: Any])
            for (name, content) in files {
                guard let content = content as? String else { continue }
                let url = directory.appendingPathComponent(name)
                if content == "<dir>" {
                    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
                } else {
                    try latin1Bytes(content).write(to: url)
                }
            }
            let arguments = try XCTUnwrap(entry["args"] as? [String]).map { directory.appendingPathComponent($0).path }
            let direction: RetrievalDirection = entry["script"] as? String == "ir" ? .textToImage : .imageToText
            var stdout = ""
            try RecallEvaluation.run(groundTruthPath: arguments[0], predictionPath: arguments[1], outputPath: arguments[2],
                                     direction: direction, print: { stdout += $0 + "\n" })
            let output = try Data(contentsOf: URL(fileURLWithPath: arguments[2]))
            let expected = try latin1Bytes(XCTUnwrap(entry["output"] as? String))
            XCTAssertEqual(String(decoding: output, as: UTF8.self), String(decoding: expected, as: UTF8.self), "case \(index)")
            XCTAssertEqual(output, expected, "case \(index)")
            XCTAssertEqual(stdout.replacingOccurrences(of: directory.path, with: "{dir}"), entry["stdout"] as? String, "case \(index)")
        }
    }

    func testTransformMatchesReference() throws {
        let cases = try XCTUnwrap(Fixtures.json("retrieval/transform.json") as? [[String: Any]])
        for (index, entry) in cases.enumerated() {
            let input = scratch.appendingPathComponent("t\(index).a.jsonl.b.jsonl")
            try latin1Bytes(XCTUnwrap(entry["input"] as? String)).write(to: input)
            let outputPath = scratch.appendingPathComponent("t\(index).a.b.tr.jsonl").path
            XCTAssertEqual(AnnotationTransform.outputPath(forInput: input.path), outputPath)
            if let expected = entry["output"] as? String {
                XCTAssertEqual(try AnnotationTransform.run(inputPath: input.path), outputPath)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: outputPath)), try latin1Bytes(expected), "case \(index)")
                XCTAssertEqual(entry["stdout"] as? String, "Done!\n")
            } else {
                XCTAssertThrowsError(try AnnotationTransform.run(inputPath: input.path), "case \(index)") { error in
                    guard case let .malformedLine(file, line, _)? = error as? DatasetError else {
                        return XCTFail("\(error)")
                    }
                    XCTAssertEqual(file, input.path)
                    XCTAssertGreaterThan(line, 0)
                }
                XCTAssertFalse(FileManager.default.fileExists(atPath: outputPath), "no output after a failure")
            }
        }
    }

    /// The fixtures hold file bytes as latin-1 text (one character per byte).
    private func latin1Bytes(_ text: String) throws -> Data {
        Data(try text.unicodeScalars.map { scalar in
            guard scalar.value < 256 else { throw FixtureError.malformed("retrieval", "non-latin-1 character") }
            return UInt8(scalar.value)
        })
    }
}
