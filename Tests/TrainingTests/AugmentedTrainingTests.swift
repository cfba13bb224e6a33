import Dataset
import Foundation
import Imaging
import Models
import Tensor
import TestSupport
import Tokenizer
import Training
import XCTest

/// `--use-augment`: the train split's images go through `TrainingAugmentation` seeded per (seed, epoch, position),
/// validation images never do, and the trainer runs with it.
final class AugmentedTrainingTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("augment-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func set(_ lmdb: URL, split: String, directoryName: String, augment: Bool) throws -> LMDBTrainingSet {
        try LMDBTrainingSet(path: lmdb.appendingPathComponent(directoryName).path, split: split, resolution: 32,
                            contextLength: 12, tokenizer: Tokenizer.bundled(), augment: augment)
    }

    private func firstBatch(_ set: LMDBTrainingSet, seed: Int, epoch: Int) throws -> TrainingBatch {
        try XCTUnwrap(try set.batches(batchSize: 4, seed: seed, epoch: epoch).next())
    }

    /// Every image of the first augmented batch equals `TrainingAugmentation` applied to that item's image with
    /// the documented generator (exact); loading again repeats it; it differs from the plain transform.
    func testTrainBatchesAreAugmentedReproducibly() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 8, validCount: 4)
        let train = try set(lmdb, split: "train", directoryName: "train", augment: true)
        XCTAssertNotNil(train.augmentation)
        let batch = try firstBatch(train, seed: 123, epoch: 0)
        let order = DistributedSamplerOrder.indices(count: train.paddedLength(globalBatchSize: 4), seed: 123, epoch: 0)
        let pairs = try LMDBPairsReader(path: lmdb.appendingPathComponent("train/pairs").path)
        let augmentation = TrainingAugmentation(resolution: 32)
        let plane = 3 * 32 * 32
        let images = batch.images.toArray()
        for position in 0..<4 {
            let index = Int(try pairs.record(at: order[position] % train.pairCount).imageId) - 1000
            let colour = SyntheticLMDB.colours[index % SyntheticLMDB.colours.count].rgb
            let bytes = SyntheticLMDB.bmp(width: 16, height: 16, rgb: colour, stripe: index % 3)
            var random = LMDBTrainingSet.augmentationRandom(seed: 123, epoch: 0, position: position)
            let expected = try augmentation.tensor(fromEncoded: bytes, using: &random).tensor.toArray()
            XCTAssertEqual(Array(images[(position * plane)..<((position + 1) * plane)]), expected, "item \(position)")
        }
        XCTAssertEqual(try firstBatch(train, seed: 123, epoch: 0).images.toArray(), images)
        let plain = try set(lmdb, split: "train", directoryName: "train", augment: false)
        XCTAssertNotEqual(try firstBatch(plain, seed: 123, epoch: 0).images.toArray(), images)
    }

    /// A validation split opened with `augment: true` keeps the plain §4.1 transform (bit-identical batches).
    func testValidationIsNeverAugmented() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 4, validCount: 8)
        let asked = try set(lmdb, split: "val", directoryName: "valid", augment: true)
        XCTAssertNil(asked.augmentation)
        let plain = try set(lmdb, split: "val", directoryName: "valid", augment: false)
        XCTAssertEqual(try firstBatch(asked, seed: 5, epoch: 0).images.toArray(),
                       try firstBatch(plain, seed: 5, epoch: 0).images.toArray())
    }

    /// The trainer accepts `--use-augment` and trains: 2 steps with finite positive losses that differ from the
    /// same run without augmentation (same seeds, so only the images differ).
    func testTrainerRunsWithUseAugment() throws {
        let lmdb = try SyntheticLMDB.build(in: directory.appendingPathComponent("data"), trainCount: 8, validCount: 4)
        func losses(augment: Bool) throws -> [Double] {
            var parameters = TrainingParameters(trainData: lmdb.appendingPathComponent("train").path)
            parameters.valData = lmdb.appendingPathComponent("valid").path
            parameters.logs = directory.appendingPathComponent("logs").path
            parameters.name = augment ? "augmented" : "plain"
            parameters.batchSize = 4
            parameters.validBatchSize = 4
            parameters.maxSteps = 2
            parameters.warmup = 1
            parameters.lr = 1e-3
            parameters.logInterval = 1
            parameters.visionModel = "ViT-B-16"
            parameters.initSeed = 7
            parameters.useAugment = augment
            try parameters.fillOptimizerDefaults()
            let model = try CLIPModel(config: ModelRegistry.config(contentsOf: Fixtures.url("models/tiny-vit-bert2.config.json")))
            FromScratchInitializer.initialize(model, seed: 7)
            let log = try TrainingLog(path: nil, echo: false)
            let trainer = try Trainer(parameters: parameters, model: model, log: log, stamp: "stamp", logPath: nil)
            XCTAssertEqual(try trainer.run().steps, 2)
            XCTAssertTrue(log.messages.contains("  use_augment: \(augment ? "True" : "False")"))
            return log.messages.filter { $0.hasPrefix("Global Steps") }.compactMap { line in
                line.components(separatedBy: " | ").first { $0.hasPrefix("Loss: ") }.flatMap { Double($0.dropFirst(6)) }
            }
        }
        let augmented = try losses(augment: true), plain = try losses(augment: false)
        XCTAssertEqual(augmented.count, 2)
        XCTAssertEqual(plain.count, 2)
        XCTAssertTrue(augmented.allSatisfy { $0.isFinite && $0 > 0 })
        XCTAssertNotEqual(augmented, plain)
    }
}
