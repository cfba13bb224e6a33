import Imaging
import TestSupport
import XCTest

/// RandomResizedCrop against timm's `get_params` (replaying its uniform draws) and its crop + Pillow resize.
final class AugmentCropTests: XCTestCase {
    func testBoxesEqualTimmForTheSameDraws() throws {
        let file = "augment/crop_params.json"
        let crop = RandomResizedCrop(size: 224)
        for entry in try AugmentFixtures.cases(file) {
            guard let width = entry["width"] as? Int, let height = entry["height"] as? Int,
                  let draws = entry["draws"] as? [Double], let box = entry["box"] as? [String: Int] else {
                throw FixtureError.malformed(file, "bad case \(entry)")
            }
            var random = ReplayedUniforms(draws)
            let chosen = crop.box(width: width, height: height, using: &random)
            XCTAssertEqual(chosen, CropBox(top: box["top"] ?? -1, left: box["left"] ?? -1, height: box["height"] ?? -1,
                                           width: box["width"] ?? -1), "\(width)x\(height) draws \(draws)")
            XCTAssertEqual(random.used, draws.count, "\(width)x\(height): number of draws")
        }
    }

    func testCropAndResizeMatchPillowInEveryMode() throws {
        let file = "augment/crop.json"
        let tensors = try Fixtures.tensors(file)
        guard let size = try Fixtures.meta(file)["size"] as? Int else { throw FixtureError.malformed(file, "no size") }
        let crop = RandomResizedCrop(size: size)
        for entry in try AugmentFixtures.cases(file) {
            guard let name = entry["image"] as? String, let key = entry["key"] as? String,
                  let top = entry["top"] as? Int, let left = entry["left"] as? Int,
                  let height = entry["height"] as? Int, let width = entry["width"] as? Int,
                  let expected = tensors[key] else {
                throw FixtureError.malformed(file, "bad case \(entry)")
            }
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url("imaging/images/" + name))
            let output = try crop.apply(CropBox(top: top, left: left, height: height, width: width), to: image).rgbImage
            let (count, largest) = AugmentFixtures.difference(output, try AugmentFixtures.rgb(expected, file: file))
            XCTAssertEqual(count, 0, "\(key): \(count) samples differ, by up to \(largest)")
        }
    }

    func testBoxOutsideTheImageIsRefused() throws {
        let image = DecodedImage(width: 4, height: 4, mode: .grey, format: .png, samples: [UInt8](repeating: 0, count: 16))
        XCTAssertThrowsError(try image.cropped(to: CropBox(top: 1, left: 1, height: 4, width: 2)))
        XCTAssertThrowsError(try image.cropped(to: CropBox(top: 0, left: 0, height: 0, width: 2)))
    }
}
