import Checkpoint
import Foundation
import TestSupport
import XCTest

/// `mpirun -np 2 cnclip train-step-dump` against the reference's own `train()` run as 2 CPU processes over gloo with
/// DistributedDataParallel (Scripts/fixtures/gen_ddp.py): the loss of each of 3 steps, the first step's averaged
/// gradients and the parameters after the third agree within 1e-5 (relative, per tensor; attention key biases as in
/// TrainingParityTests), for the default gather, `--gather-with-grad` and `--accum-freq 2`.
final class ReferenceDDPTests: XCTestCase {
    func testDefaultGather() throws { try compare("plain", options: []) }
    func testGatherWithGrad() throws { try compare("gather-with-grad", options: ["--gather-with-grad"]) }
    func testAccumulation() throws { try compare("accum", options: ["--accum-freq", "2"]) }

    private func compare(_ variant: String, options: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refddp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("ours.pt")
        let result = try Launcher.run(["train-step-dump", "--vision-model", "ViT-B-16",
                                       "--model-config", Fixtures.url("training/train-vit-bert2.config.json").path,
                                       "--resume", Fixtures.url("training/train-vit-bert2.init.pt").path,
                                       "--batch", Fixtures.url("ddp/batch.pt").path, "--steps", "3", "--lr", "1e-3",
                                       "--warmup", "3", "--max-steps", "10", "--output", output.path] + options,
                                      ranks: 2, timeout: 180)
        try Launcher.requireSuccess(result, "2-rank dump (\(variant))")
        let ours = try Checkpoint.load(contentsOf: output).stateDict
        let reference = try Checkpoint.load(contentsOf: Fixtures.url("ddp/\(variant).pt")).stateDict
        let compared = reference.keys.filter { $0.hasPrefix("grad.") || $0.hasPrefix("final.") } + ["losses"]
        XCTAssertGreaterThan(compared.count, 20)
        for key in compared.sorted() {
            let mine = try XCTUnwrap(ours[key], "\(variant): cnclip wrote no \(key)").floatValues()
            let theirs = try XCTUnwrap(reference[key]).floatValues()
            let error = relativeDifference(key, mine, theirs)
            XCTAssertLessThanOrEqual(error, 1e-5, "\(variant): \(key) differs from the reference by \(error)")
        }
    }
}
