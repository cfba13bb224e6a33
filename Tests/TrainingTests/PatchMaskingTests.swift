import Checkpoint
import Foundation
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// `--mask-ratio` (FLIP): the loss and every gradient with the reference's `get_loss` at mask ratio 0.5 when both
/// keep the same patches (gen_trainopts.py records the reference's torch.rand draw), 1e-5 relative; the masking
/// draws themselves; and the identity of keeping every patch in order with no masking.
final class PatchMaskingTests: XCTestCase {
    func testMaskedLossAndGradientsMatchTheReference() throws {
        let (fixture, step) = try TrainOptionsFixture.training()
        let expected = try TrainOptionsFixture.stateDict("mask.pt")
        let kept = try TrainOptionsFixture.tokens(XCTUnwrap(expected["kept"]))
        XCTAssertEqual(kept.map(\.count), [8, 8, 8, 8])
        let loss = try step.lossAndGradients(images: fixture.images, tokens: fixture.tokens, keptPatches: kept)
        let reference = try XCTUnwrap(expected["loss"]).floatValues()[0]
        XCTAssertEqual(loss.loss, reference, accuracy: 1e-5 * reference)
        let worst = try TrainOptionsFixture.compareGradients(step, model: fixture.model, expected: expected,
                                                             tolerance: 1e-5, label: "mask 0.5")
        print("mask-ratio parity: loss \(loss.loss) vs \(reference), worst gradient ‖Δ‖/‖g‖ \(worst)")
        // The unmasked loss differs, so the masking did take effect.
        let plain = try step.lossAndGradients(images: fixture.images, tokens: fixture.tokens)
        XCTAssertGreaterThan(abs(plain.loss - reference), 1e-3)
    }

    func testKeepingEveryPatchInOrderIsTheUnmaskedPass() throws {
        let (fixture, step) = try TrainOptionsFixture.training()
        let plain = try step.lossAndGradients(images: fixture.images, tokens: fixture.tokens)
        let plainGradients = step.gradients.named(fixture.model.stateEntries()).mapValues { $0.toArray() }
        let all = try step.lossAndGradients(images: fixture.images, tokens: fixture.tokens,
                                            keptPatches: Array(repeating: Array(0..<16), count: 4))
        XCTAssertEqual(all.loss, plain.loss)
        for (name, gradient) in step.gradients.named(fixture.model.stateEntries()) {
            XCTAssertEqual(gradient.toArray(), plainGradients[name], name)
        }
    }

    func testDrawsKeepDistinctPatchesAsThePythonCountSays() throws {
        let masking = try PatchMasking(ratio: 0.3)
        XCTAssertEqual(masking.keptCount(patches: 16), 11)          // int(16 · 0.7) = int(11.2)
        XCTAssertEqual(try PatchMasking(ratio: 0.75).keptCount(patches: 196), 49)
        XCTAssertEqual(try PatchMasking(ratio: 1).keptCount(patches: 196), 0)
        let draws = masking.keptPatches(images: 3, patches: 16, seed: 5)
        XCTAssertEqual(draws, masking.keptPatches(images: 3, patches: 16, seed: 5))
        XCTAssertNotEqual(draws, masking.keptPatches(images: 3, patches: 16, seed: 6))
        for row in draws {
            XCTAssertEqual(row.count, 11)
            XCTAssertEqual(Set(row).count, 11)
            XCTAssertTrue(row.allSatisfy { (0..<16).contains($0) })
        }
        XCTAssertNotEqual(draws[0], draws[1])
        XCTAssertThrowsError(try PatchMasking(ratio: 1.5)) { error in
            XCTAssertEqual(error as? TrainerError, .invalidArgument(flag: "--mask-ratio", reason: "must lie in [0, 1], got 1.5"))
        }
    }
}
