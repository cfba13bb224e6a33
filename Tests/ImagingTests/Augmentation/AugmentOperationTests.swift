import Imaging
import TestSupport
import XCTest

/// Every AutoAugment operation against Pillow 9.4 (through timm's op functions) on small RGB images at several
/// arguments and signs: byte-exact (tolerance 0).
final class AugmentOperationTests: XCTestCase {
    func testEveryOperationIsByteExactAgainstPillow() throws {
        let file = "augment/ops.json"
        let tensors = try Fixtures.tensors(file)
        let cases = try AugmentFixtures.cases(file)
        XCTAssertGreaterThan(cases.count, 100)
        var checked = Set<String>()
        for entry in cases {
            guard let imageName = entry["image"] as? String, let name = entry["op"] as? String,
                  let key = entry["key"] as? String, let operation = AugmentOperation(rawValue: name),
                  let input = tensors["\(imageName)/input"], let expected = tensors[key] else {
                throw FixtureError.malformed(file, "bad case \(entry)")
            }
            let argument = (entry["argument"] as? String).flatMap(Double.init)
            let image = try AugmentFixtures.rgb(input, file: file)
            let output = operation.apply(to: image, argument: argument, fill: TrainingAugmentation.fill)
            let reference = try AugmentFixtures.rgb(expected, file: file)
            let (count, largest) = AugmentFixtures.difference(output, reference)
            XCTAssertEqual(count, 0, "\(key): \(count) samples differ, by up to \(largest)")
            checked.insert(name)
        }
        XCTAssertEqual(checked, Set(AugmentOperation.allCases.map(\.rawValue)))
    }

    func testFillIsRoundedMeanAndBlendShortcuts() throws {
        XCTAssertEqual(TrainingAugmentation.fill, [123, 117, 104])
        let image = RGBImage(width: 2, height: 1, pixels: [0, 100, 255, 7, 8, 9])
        let other = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 9, 8, 7])
        XCTAssertEqual(image.blended(toward: other, alpha: 0), image)
        XCTAssertEqual(image.blended(toward: other, alpha: 1), other)
        // extrapolation clips: 0 + 1.5 * 255 → 255, 100 + 1.5 * (0 - 100) → 0
        XCTAssertEqual(image.blended(toward: other, alpha: 1.5).pixels, [255, 0, 0, 10, 8, 6])
    }
}
