import Foundation
import Models
import Retrieval
import TestSupport
import XCTest

/// Bad zero-shot input: each error names the file or folder at fault (the reference would crash or run silently).
final class ZeroShotInputErrorTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func folder(_ relative: String) throws -> URL {
        let url = scratch.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func copyFixtureImage(_ name: String, to relative: String) throws {
        try Fixtures.data("zeroshot/dataset/test/\(name)").write(to: scratch.appendingPathComponent(relative))
    }

    private func description(of body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    func testMissingDatasetAndNoClassFolders() throws {
        let missing = scratch.appendingPathComponent("absent").path
        XCTAssertEqual(description { _ = try ImageFolderDataset(root: missing) },
                       "\(missing): cannot list the dataset folder: no such folder")
        let empty = try folder("empty").path
        XCTAssertTrue(description { _ = try ImageFolderDataset(root: empty) }.hasPrefix("\(empty): no class folder found"))
    }

    func testEmptyClassFolderIsNamed() throws {
        _ = try folder("test/000")
        _ = try folder("test/001/sub")
        try copyFixtureImage("000/a.jpg", to: "test/000/a.jpg")
        try Data("text".utf8).write(to: scratch.appendingPathComponent("test/001/sub/readme.txt"))
        let message = description { _ = try ImageFolderDataset(root: scratch.appendingPathComponent("test").path) }
        XCTAssertTrue(message.hasPrefix(scratch.appendingPathComponent("test/001").path + ": class folder holds no image file"),
                      message)
    }

    func testLabelFileMissingOrMismatched() throws {
        let dataset = try ImageFolderDataset(root: Fixtures.url("zeroshot/dataset/test").path)
        let missing = scratch.appendingPathComponent("label_cn.txt").path
        XCTAssertEqual(description { _ = try dataset.labels(contentsOf: missing) },
                       "\(missing): cannot read the label file: No such file or directory")
        try Data("猫\n狗\n".utf8).write(to: URL(fileURLWithPath: missing))
        let message = description { _ = try dataset.labels(contentsOf: missing) }
        XCTAssertTrue(message.hasPrefix("\(missing): 2 label line(s), but \(dataset.root) has 3 class folder(s) (000, 001, 002)"),
                      message)
        try Data([0x61, 0x0A, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: missing))
        XCTAssertEqual(description { _ = try ImageFolderDataset.labels(contentsOf: missing) },
                       "\(missing): cannot read the label file: line 2: not valid UTF-8")
    }

    func testUnreadableImageStopsTheRunNamingIt() throws {
        _ = try folder("test/000")
        _ = try folder("test/001")
        try copyFixtureImage("000/a.jpg", to: "test/000/a.jpg")
        try copyFixtureImage("001/gray.jpg", to: "test/001/gray.jpg")
        let broken = scratch.appendingPathComponent("test/001/broken.png")
        try Data("not a png".utf8).write(to: broken)
        let dataset = try ImageFolderDataset(root: scratch.appendingPathComponent("test").path)
        XCTAssertEqual(dataset.samples.map(\.label), [0, 1, 1])
        let config = try ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json"))
        let loaded = try CLIPModel.load(config: config, checkpoint: Fixtures.url("models/tiny-vit-bert2.fp32.pt"))
        let classifier = try ZeroShotClassifier(model: loaded, labels: ["a", "b"], templates: [PromptTemplate(prefix: "", suffix: "")])
        let message = description { _ = try ZeroShotEvaluation.run(classifier, on: dataset, batchSize: 2, workers: 2) }
        XCTAssertTrue(message.hasPrefix(broken.path + ": "), message)
    }

    func testIndexFileErrors() throws {
        let index = scratch.appendingPathComponent("index.json")
        try Data("[0, -1, 2]".utf8).write(to: index)
        XCTAssertEqual(try ZeroShotEvaluation.index(contentsOf: index.path, count: 3), [0, 2, 2])
        try Data("[0, 3]".utf8).write(to: index)
        XCTAssertEqual(description { _ = try ZeroShotEvaluation.index(contentsOf: index.path, count: 3) },
                       "\(index.path): invalid index file: item 1: index 3 is out of bounds for 3 images")
        try Data("{\"a\": 1}".utf8).write(to: index)
        XCTAssertEqual(description { _ = try ZeroShotEvaluation.index(contentsOf: index.path, count: 3) },
                       "\(index.path): invalid index file: expected a JSON list of integers, found dict")
    }
}
