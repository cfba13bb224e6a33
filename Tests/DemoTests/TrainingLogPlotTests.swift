import Demo
import Foundation
import Imaging
import TestSupport
import XCTest

/// `cnclip plot-log`'s parts: the training log's series read from sample logs in the reference's line format
/// (values compared exactly with the numbers written in the logs), the four-panel PNG's header and content, and the
/// errors for a missing file and a log without training lines.
final class TrainingLogPlotTests: XCTestCase {
    typealias Point = TrainingLogSeries.Point

    private func points(_ steps: [Int], _ values: [Double]) -> [Point] {
        zip(steps, values).map { Point(step: $0, value: $1) }
    }

    func testSeriesOfALogWithAccuracies() throws {
        let series = try TrainingLogSeries(contentsOfFile: Fixtures.url("plotlog/with_accuracy.log").path)
        let steps = Array(1...8)
        XCTAssertEqual(series.trainingLoss, points(steps, [3.465736, 3.101204, 2.874410, 2.512987, 2.203318, 1.987652,
                                                           1.850077, 1.792345]))
        XCTAssertEqual(series.trainingImageToText, points(steps, [3.12, 12.50, 18.75, 28.12, 37.50, 46.88, 50.00, 53.12]))
        XCTAssertEqual(series.trainingTextToImage, points(steps, [6.25, 9.38, 21.88, 25.00, 40.62, 43.75, 53.12, 56.25]))
        XCTAssertEqual(series.learningRate, points(steps, [0.000025, 0.00005, 0.000075, 0.0001, 0.000085, 0.00005,
                                                           0.000015, 0]))
        XCTAssertEqual(series.logitScale, points(steps, [4.605, 4.606, 4.607, 4.609, 4.610, 4.611, 4.611, 4.612]))
        XCTAssertEqual(series.validationLoss, points([4, 8], [2.690133, 2.104561]))
        XCTAssertEqual(series.validationImageToText, points([4, 8], [21.00, 33.50]))
        XCTAssertEqual(series.validationTextToImage, points([4, 8], [19.50, 35.00]))
        XCTAssertEqual(series.validationLogitScale, points([4, 8], [4.609, 4.612]))
        XCTAssertEqual(series.lastStep, 8)
    }

    func testSeriesOfALogWithoutAccuracies() throws {
        let series = try TrainingLogSeries(contentsOfFile: Fixtures.url("plotlog/without_accuracy.log").path)
        XCTAssertEqual(series.trainingLoss, points([50, 100, 150, 200], [4.505411, 3.870012, 3.012345, 2.750001]))
        XCTAssertEqual(series.learningRate, points([50, 100, 150, 200], [0.002, 0.00195, 0.0018, 0.0016]))
        XCTAssertEqual(series.logitScale, points([50, 100, 150, 200], [2.650, 2.655, 2.660, 2.663]))
        XCTAssertEqual(series.trainingImageToText, [])
        XCTAssertEqual(series.trainingTextToImage, [])
        XCTAssertEqual(series.validationLoss, points([157, 314], [2.900320, 2.500320]))
        XCTAssertEqual(series.validationImageToText, points([157, 314], [10.30, 16.30]))
        XCTAssertEqual(series.validationTextToImage, points([157, 314], [11.50, 18.50]))
        XCTAssertEqual(series.lastStep, 314)
    }

    func testChartIsAPNGOfTheRequestedSizeWithDarkPixels() throws {
        let series = try TrainingLogSeries(contentsOfFile: Fixtures.url("plotlog/with_accuracy.log").path)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plotlog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("curves.png").path
        try TrainingCurvesChart(series: series).writePNG(to: path, width: 640, height: 480)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["curves.png"])
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(Array(data.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10])
        XCTAssertEqual(String(decoding: data[12..<16], as: UTF8.self), "IHDR")
        func bigEndian(_ offset: Int) -> Int { data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual([bigEndian(16), bigEndian(20)], [640, 480])
        let image = try ImageDecoder.decode(data)
        XCTAssertEqual([image.width, image.height], [640, 480])
        let channels = image.samples.count / (640 * 480)
        XCTAssertGreaterThanOrEqual(channels, 3)
        var dark = 0, white = 0
        for pixel in stride(from: 0, to: image.samples.count, by: channels) {
            let rgb = image.samples[pixel..<pixel + 3]
            if rgb.allSatisfy({ $0 < 80 }) { dark += 1 }
            if rgb.allSatisfy({ $0 == 255 }) { white += 1 }
        }
        XCTAssertGreaterThan(dark, 2000, "text and frames are drawn in near-black")
        XCTAssertGreaterThan(white, 640 * 480 / 2, "the background is white")
    }

    func testMissingFileIsNamed() {
        XCTAssertThrowsError(try TrainingLogSeries(contentsOfFile: "/nonexistent/out.log")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/out.log"), "\(error)")
        }
    }

    func testLogWithoutTrainingLinesIsNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plotlog-\(UUID().uuidString).log").path
        try Data("2026-11-25,16:50:01 | INFO | Rank 0 | Params:\nnot a log line\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try TrainingLogSeries(contentsOfFile: path)) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("Global Steps"), "\(error)")
        }
    }

    func testTooSmallChartIsRefused() throws {
        let series = TrainingLogSeries(logText: "x | Global Steps: 1/2 | Loss: 1.0 | LR: 0.1 | logit_scale: 2.0")
        XCTAssertEqual(series.trainingLoss, [Point(step: 1, value: 1.0)])
        XCTAssertThrowsError(try TrainingCurvesChart(series: series).pngData(width: 20, height: 20))
    }
}
