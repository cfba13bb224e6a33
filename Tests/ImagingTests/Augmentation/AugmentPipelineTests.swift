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
}
