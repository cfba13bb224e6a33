import Foundation
import Imaging
import TestSupport
import XCTest

/// The whole per-sample transform against cn_clip's `_build_transform(S)` with `use_augment` (timm 1.0.31,
/// Pillow 9.4), replaying the reference's draws: normalised tensors equal to within fp32 rounding (the uint8
/// pixels are byte-exact; the tolerance covers only `(v/255 − mean)/std`).
final class AugmentPipelineTests: XCTestCase {
    func testPipelineMatchesReferenceForReplayedDraws() throws {
        let file = "augment/pipeline.json"
        let tensors = try Fixtures.tensors(file)
        let meta = try Fixtures.meta(file)
        guard let size = meta["size"] as? Int else { throw FixtureError.malformed(file, "no size") }
        XCTAssertEqual(meta["transforms"] as? [String], ["RandomResizedCropAndInterpolation", "RandomHorizontalFlip",
                                                         "_convert_to_rgb", "AutoAugment", "MaybeToTensor", "Normalize"])
        let augmentation = TrainingAugmentation(resolution: size)
        for entry in try AugmentFixtures.cases(file) {
            guard let name = entry["image"] as? String, let draws = entry["draws"] as? [Double],
                  let key = entry["key"] as? String, let expected = tensors[key] else {
                throw FixtureError.malformed(file, "bad case \(entry)")
            }
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url("imaging/images/" + name))
            var random = ReplayedUniforms(draws)
            let result = try augmentation.preprocess(image, using: &random)
            XCTAssertEqual(random.used, draws.count, "\(key): number of draws")
            XCTAssertEqual(result.tensor.shape, [3, size, size])
            XCTAssertEqual(expected.shape, [3, size, size])
            let difference = maxAbsDifference(result.tensor.toArray(), expected.floats)
            XCTAssertLessThanOrEqual(difference, 1e-6, "\(key) (\(name))")
        }
    }

    /// Augmenting one 224×224 image (crop + resize from 300×230, flip, Posterize and Rotate, the costliest
    /// sub-policy) is cheap next to a training step: a few ms in release; the bound (250 ms) only catches a
    /// pathological slowdown, in any build.
    func testAugmentingOneImageIsCheap() throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("imaging/images/jpeg_baseline_320x240.jpg"))
        let augmentation = TrainingAugmentation(resolution: 224)
        let choice = TrainingAugmentation.Choice(crop: CropBox(top: 3, left: 10, height: 230, width: 300), flip: true,
                                                 autoAugment: AutoAugmentChoice(subPolicy: 0, applied: [true, true],
                                                                                negated: [false, true]))
        let start = Date()
        let rounds = 5
        for _ in 0..<rounds { _ = try augmentation.augmentedRGB(image, choice: choice) }
        let perImage = Date().timeIntervalSince(start) / Double(rounds)
        XCTAssertLessThan(perImage, 0.25, "augmenting one image took \(perImage * 1000) ms")
    }
}
