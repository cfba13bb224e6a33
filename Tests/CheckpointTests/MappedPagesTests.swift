import Checkpoint
import Foundation
import Tensor
import XCTest

/// `StoredTensor.discardMappedPages`: mapped checkpoint pages leave resident memory once a loader has copied them,
/// reading the tensor again still gives its values, and memory that is not a file mapping is never touched.
final class MappedPagesTests: XCTestCase {
    private func residentKilobytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try XCTUnwrap(Int(line.split(separator: " ").dropFirst().first ?? ""))
    }

    func testDiscardedPagesLeaveResidentMemoryAndReadBackUnchanged() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-pages-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = 24 << 20  // 96 MB of fp32
        let values = (0..<count).map { Float($0 % 9973) * 0.5 - 7 }
        let url = directory.appendingPathComponent("big.safetensors")
        try SafeTensors.write(StateDict([("w", try StoredTensor(Tensor(shape: [count], data: values)))]), metadata: [:], to: url)

        let (stateDict, _) = try SafeTensors.read(contentsOf: url)
        let stored = try XCTUnwrap(stateDict["w"])
        var sum = 0.0
        stored.storage.bytes.withUnsafeBytes { raw in  // fault every page in
            for page in stride(from: 0, to: raw.count, by: 4096) { sum += Double(raw[page]) }
        }
        let touched = try residentKilobytes()
        stored.discardMappedPages()
        let released = try residentKilobytes()
        XCTAssertGreaterThan(touched - released, 64 * 1024, "about 96 MB of mapped pages should leave RSS (\(touched) → \(released) kB)")
        XCTAssertEqual(stored.floatValues(), values, "the values read back from the file after the discard")
        XCTAssertGreaterThan(sum, -1)
    }

    func testTensorsOutsideAMappingAreLeftAlone() throws {
        let values: [Float] = (0..<5000).map { Float($0) - 0.25 }
        let stored = try StoredTensor(Tensor(shape: [50, 100], data: values))
        stored.discardMappedPages()
        XCTAssertEqual(stored.floatValues(), values)
    }
}
