import Imaging
import TestSupport
import XCTest

/// The policy table against timm's, and the seeded sampler's distribution.
final class AugmentPolicyTests: XCTestCase {
    func testPolicyEqualsTimmOriginal() throws {
        let file = "augment/policy.json"
        guard let table = try Fixtures.meta(file)["policy"] as? [[[String: Any]]] else {
            throw FixtureError.malformed(file, "no meta.policy")
        }
        XCTAssertEqual(table.count, AutoAugmentPolicy.original.count)
        for (subPolicy, steps) in zip(AutoAugmentPolicy.original, table) {
            XCTAssertEqual(subPolicy.count, steps.count)
            for (step, reference) in zip(subPolicy, steps) {
                XCTAssertEqual(step.operation.rawValue, reference["name"] as? String)
                XCTAssertEqual(step.probability, (reference["probability"] as? NSNumber)?.doubleValue)
                XCTAssertEqual(step.magnitude, reference["magnitude"] as? Int)
                XCTAssertEqual(step.argument, (reference["argument"] as? String).flatMap(Double.init),
                               "argument of \(step.operation) m=\(step.magnitude)")
            }
        }
    }

    /// 10 000 seeded draws on a 320×240 image: each sub-policy ~1/25 (400 ± 80, over 4 standard deviations),
    /// flip ~1/2, crop area share within [0.9, 1] (rounding allows ±1 pixel per side) and aspect within [3/4, 4/3],
    /// each step applied at about its probability.
    func testSamplerDistribution() {
        let augmentation = TrainingAugmentation(resolution: 224)
        var random = AugmentationRandom(seed: 123, stream: 7)
        var perSubPolicy = [Int](repeating: 0, count: 25)
        var flips = 0
        var appliedSteps = 0.0, expectedSteps = 0.0
        let draws = 10_000
        for _ in 0..<draws {
            let choice = augmentation.choose(width: 320, height: 240, using: &random)
            perSubPolicy[choice.autoAugment.subPolicy] += 1
            if choice.flip { flips += 1 }
            let box = choice.crop
            let share = Double(box.width * box.height) / Double(320 * 240)
            XCTAssertGreaterThanOrEqual(Double((box.width + 1) * (box.height + 1)) / Double(320 * 240), 0.9)
            XCTAssertLessThanOrEqual(share, 1)
            XCTAssertTrue(box.left >= 0 && box.top >= 0 && box.left + box.width <= 320 && box.top + box.height <= 240)
            let aspect = Double(box.width) / Double(box.height)
            XCTAssertTrue(aspect > 0.74 && aspect < 1.345, "aspect \(aspect)")
            for (position, step) in AutoAugmentPolicy.original[choice.autoAugment.subPolicy].enumerated() {
                expectedSteps += step.probability
                if choice.autoAugment.applied[position] { appliedSteps += 1 }
                if !step.operation.isSigned { XCTAssertFalse(choice.autoAugment.negated[position]) }
            }
        }
        for count in perSubPolicy { XCTAssertEqual(Double(count), 400, accuracy: 80) }
        XCTAssertEqual(Double(flips), 5_000, accuracy: 200)
        XCTAssertEqual(appliedSteps, expectedSteps, accuracy: 250)
    }

    func testSeededGeneratorRepeatsAndStreamsDiffer() {
        var a = AugmentationRandom(seed: 5, stream: 1), b = AugmentationRandom(seed: 5, stream: 1)
        var c = AugmentationRandom(seed: 5, stream: 2)
        let first = (0..<8).map { _ in a.nextUniform() }
        XCTAssertEqual(first, (0..<8).map { _ in b.nextUniform() })
        XCTAssertNotEqual(first, (0..<8).map { _ in c.nextUniform() })
        XCTAssertTrue(first.allSatisfy { $0 >= 0 && $0 < 1 })
    }
}
