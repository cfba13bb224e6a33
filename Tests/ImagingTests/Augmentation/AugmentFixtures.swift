import Foundation
import Imaging
import TestSupport

/// Readers for the fixtures of Scripts/fixtures/gen_augment.py (timm 1.0.31 on Pillow 9.4).
enum AugmentFixtures {
    /// A fixture tensor of shape [H, W, 3] holding uint8 values, as an `RGBImage`.
    static func rgb(_ tensor: FixtureTensor, file: String) throws -> RGBImage {
        guard tensor.shape.count == 3, tensor.shape[2] == 3 else {
            throw FixtureError.malformed(file, "expected an [H, W, 3] image, got \(tensor.shape)")
        }
        return RGBImage(width: tensor.shape[1], height: tensor.shape[0], pixels: tensor.values.map { UInt8($0) })
    }

    /// The `meta.cases` array of `file`.
    static func cases(_ file: String) throws -> [[String: Any]] {
        guard let cases = try Fixtures.meta(file)["cases"] as? [[String: Any]] else {
            throw FixtureError.malformed(file, "no meta.cases")
        }
        return cases
    }

    /// Positions and sizes of the differing samples between two images, for failure messages.
    static func difference(_ a: RGBImage, _ b: RGBImage) -> (count: Int, largest: Int) {
        guard a.pixels.count == b.pixels.count else { return (Int.max, Int.max) }
        var count = 0, largest = 0
        for (x, y) in zip(a.pixels, b.pixels) where x != y {
            count += 1
            largest = max(largest, abs(Int(x) - Int(y)))
        }
        return (count, largest)
    }
}
