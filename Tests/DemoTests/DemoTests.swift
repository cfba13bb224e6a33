import Demo
import Foundation
import Imaging
import TestSupport
import XCTest

/// The demo's data preparation: PNG bytes that decode back to the same grey pixels, IDX parsing and its errors,
/// the captions' tone rule and templates, and reading the evaluation output.
final class DemoTests: XCTestCase {
    func testGreyPNGDecodesToTheSamePixels() throws {
        let pixels = (0..<(28 * 28)).map { UInt8(($0 * 37) % 256) }
        let png = try ImagePNG.encode(pixels[...], width: 28, height: 28)
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let decoded = try ImageDecoder.decode(png)
        XCTAssertEqual(decoded.mode, .grey)
        XCTAssertEqual([decoded.width, decoded.height], [28, 28])
        XCTAssertEqual(decoded.samples, pixels)
    }

    func testIDXFilesAreReadAndCheckedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func header(_ values: [UInt32]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bigEndian, Array.init) } }
        let images = header([2051, 2, 28, 28]) + (0..<(2 * 784)).map { UInt8($0 % 251) }
        try Data(images).write(to: directory.appendingPathComponent("train-images-idx3-ubyte"))
        try Data(header([2049, 2]) + [9, 3]).write(to: directory.appendingPathComponent("train-labels-idx1-ubyte"))
        let split = try FashionMNIST(directory: directory.path, prefix: "train")
        XCTAssertEqual(split.labels, [9, 3])
        XCTAssertEqual(Array(split.image(1).prefix(2)), [UInt8(784 % 251), UInt8(785 % 251)])
        try Data(header([2049, 2]) + [9, 3]).write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(header([2049, 2]) + [9, 3]).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try FashionMNIST(directory: directory.path, prefix: "t10k")) { error in
            XCTAssertTrue("\(error)".contains("t10k-images-idx3-ubyte"), "\(error)")
        }
    }

    func testCaptionsUseTheToneOfTheItemPixels() {
        // Background (≤ 16) is ignored; the mean of the rest decides: < 100 dark, < 150 grey, else light.
        XCTAssertEqual(FashionCaptions.tone(of: ([0, 0, 99, 99] as [UInt8])[...]), "深色")
        XCTAssertEqual(FashionCaptions.tone(of: ([0, 16, 100, 199] as [UInt8])[...]), "灰色")
        XCTAssertEqual(FashionCaptions.tone(of: ([10, 150, 150] as [UInt8])[...]), "浅色")
        XCTAssertEqual(FashionCaptions.query(label: 2, tone: "深色"), "一件深色的套头衫")
        XCTAssertEqual(FashionCaptions.caption(label: 7, tone: "浅色", template: 3), "这是一双运动鞋")
        XCTAssertEqual(FashionCaptions.caption(label: 8, tone: "灰色", template: 1), "灰色包的照片")
    }

    func testRecallIsReadFromTheEvaluationOutput() throws {
        let recall = try DemoReport.recall(Fixtures.url("pipeline/output.json").path)
        XCTAssertEqual(recall.r1, 16.666666666666664)
        XCTAssertEqual(recall.r10, 83.33333333333334)
        XCTAssertEqual(recall.mean, 50.0)
    }
}
