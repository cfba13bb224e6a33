import Checkpoint
import Foundation
import Tensor
import TestSupport
import XCTest

/// 2 ranks × batch B against 1 process × batch 2B, through `cnclip train-step-dump` (3 AdamW steps on a fixed
/// batch of 8, dropout off): the loss of every step, the first step's gradients and the parameters after the
/// third agree within 1e-5 (relative, per tensor). The 2-rank runs average gradients in 16 KiB buckets, so steps 2
/// and 3 overlap several bucket all-reduces with backward.
///
/// With `--gather-with-grad` the two are the same computation. With the default gather (local rows first, gathered
/// copies without gradient) the reference's DDP average gives the towers half the gradient of the whole batch and
/// logit_scale all of it; the one-process side reproduces that with `--tower-gradient-scale 0.5`.
final class DataParallelEquivalenceTests: ScratchDirectoryTestCase {


    func testViTBertGatherWithGrad() throws {
        try compare("train-vit-bert2", options: ["--gather-with-grad"], single: [])
    }

    func testViTBertDefaultGather() throws {
        try compare("train-vit-bert2", options: [], single: ["--tower-gradient-scale", "0.5"])
    }

    func testViTBertAccumulatedGatherWithGrad() throws {
        try compare("train-vit-bert2", options: ["--gather-with-grad", "--accum-freq", "2"], single: ["--accum-freq", "2"])
    }

    func testViTBertAccumulatedDefaultGather() throws {
        try compare("train-vit-bert2", options: ["--accum-freq", "2"],
                    single: ["--accum-freq", "2", "--tower-gradient-scale", "0.5"])
    }

    func testViTBertFrozenVision() throws {
        try compare("train-vit-bert2", options: ["--freeze-vision", "--gather-with-grad"], single: ["--freeze-vision"])
    }

    /// `--mask-ratio` (FLIP): every row keeps the same patches in both runs (drawn for the whole batch from one
    /// seed), and the masked loss differs from the unmasked one (the masking took effect).
    func testViTBertMaskRatioGatherWithGrad() throws {
        try compare("train-vit-bert2", options: ["--gather-with-grad", "--mask-ratio", "0.5"], single: ["--mask-ratio", "0.5"],
                    maskedAgainstPlain: true)
    }

    func testViTBertMaskRatioAccumulatedDefaultGather() throws {
        try compare("train-vit-bert2", options: ["--mask-ratio", "0.5", "--accum-freq", "2"],
                    single: ["--mask-ratio", "0.5", "--accum-freq", "2", "--tower-gradient-scale", "0.5"])
    }

    /// RN50: BatchNorm normalises each rank's batch with that batch's statistics (the reference's default without
    /// SyncBatchNorm), so a trained ResNet tower differs from one process by design; with the vision tower frozen
    /// (BatchNorm in eval mode, as the reference puts it) the runs must agree.
    func testResNetBertFrozenVisionGatherWithGrad() throws {
        try compare("train-rn-bert1", options: ["--freeze-vision", "--gather-with-grad"], single: ["--freeze-vision"])
    }

    func testResNetBertFrozenVisionDefaultGather() throws {
        try compare("train-rn-bert1", options: ["--freeze-vision"],
                    single: ["--freeze-vision", "--tower-gradient-scale", "0.5"])
    }

    /// `--use-bn-sync`: SyncBatchNorm takes the statistics over both ranks' rows, so a trained ResNet tower on
    /// 2 ranks × B matches plain BatchNorm over 2B rows in one process.
    func testResNetBertSyncBatchNormGatherWithGrad() throws {
        try compare("train-rn-bert1", options: ["--use-bn-sync", "--gather-with-grad"], single: [])
    }

    func testResNetBertSyncBatchNormDefaultGather() throws {
        try compare("train-rn-bert1", options: ["--use-bn-sync"], single: ["--tower-gradient-scale", "0.5"])
    }

    /// `--accum-freq 2` on RN50: with SyncBatchNorm each micro-batch's statistics span both ranks' rows of it, as
    /// one process's micro-batch of 2B rows; frozen, BatchNorm stays in eval mode throughout.
    func testResNetBertSyncBatchNormAccumulatedGatherWithGrad() throws {
        try compare("train-rn-bert1", options: ["--use-bn-sync", "--accum-freq", "2", "--gather-with-grad"],
                    single: ["--accum-freq", "2"], runningStatistics: true)
    }

    func testResNetBertFrozenVisionAccumulatedDefaultGather() throws {
        try compare("train-rn-bert1", options: ["--freeze-vision", "--accum-freq", "2"],
                    single: ["--freeze-vision", "--accum-freq", "2", "--tower-gradient-scale", "0.5"])
    }

    /// The reference freezes only `BatchNorm2d` instances, so a frozen tower's SyncBatchNorm layers keep
    /// normalising with batch statistics (over every rank); one process with the flag runs them over all 2B rows.
    func testResNetBertSyncBatchNormFrozenVision() throws {
        try compare("train-rn-bert1", options: ["--use-bn-sync", "--freeze-vision", "--gather-with-grad"],
                    single: ["--use-bn-sync", "--freeze-vision"], runningStatistics: true)
    }

    /// Runs the dump as 2 ranks with `options` and as one process with `single`, and compares.
    /// With `runningStatistics` the BatchNorm running statistics must also have moved from the initial weights'
    /// (BatchNorm ran in training mode).
    /// With `maskedAgainstPlain` the one-process losses must differ from an unmasked run's.
    private func compare(_ name: String, options: [String], single: [String], runningStatistics: Bool = false,
                         maskedAgainstPlain: Bool = false) throws {
        let batch = directory.appendingPathComponent("batch.pt")
        try TestBatch.write(to: batch, rows: 8, resolution: name.contains("rn") ? 64 : 32, seed: 11)
        let common = ["train-step-dump", "--vision-model", name.contains("rn") ? "RN50" : "ViT-B-16",
                      "--model-config", Fixtures.url("training/\(name).config.json").path,
                      "--resume", Fixtures.url("training/\(name).init.pt").path, "--batch", batch.path,
                      "--steps", "3", "--lr", "1e-3", "--warmup", "2", "--max-steps", "10"]
        let twoPath = directory.appendingPathComponent("two.pt"), onePath = directory.appendingPathComponent("one.pt")
        // Small gradient buckets: several all-reduces overlap each backward from the second step on.
        let two = try Launcher.run(common + options + ["--bucket-kib", "16", "--output", twoPath.path], ranks: 2, timeout: 180)
        try Launcher.requireSuccess(two, "2-rank dump")
        XCTAssertTrue(two.stdout.contains("\"world_size\": 2"), two.stdout)
        try checkOverlap(two.stdout)
        let one = try Launcher.run(common + single + ["--output", onePath.path], timeout: 180)
        try Launcher.requireSuccess(one, "1-process dump")
        let a = try Checkpoint.load(contentsOf: twoPath).stateDict, b = try Checkpoint.load(contentsOf: onePath).stateDict
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertGreaterThan(a.keys.filter { $0.hasPrefix("grad.") }.count, 3)
        for key in b.keys.sorted() where key != "lr" {
            let x = try XCTUnwrap(a[key]).floatValues(), y = try XCTUnwrap(b[key]).floatValues()
            let error = relativeDifference(key, x, y)
            XCTAssertLessThanOrEqual(error, 1e-5, "\(name) \(options): \(key) differs by \(error) (relative)")
        }
        if maskedAgainstPlain {
            let plainPath = directory.appendingPathComponent("plain.pt")
            try Launcher.requireSuccess(try Launcher.run(common + ["--output", plainPath.path], timeout: 180), "unmasked dump")
            let plain = try XCTUnwrap(Checkpoint.load(contentsOf: plainPath).stateDict["losses"]).floatValues()
            let masked = try XCTUnwrap(b["losses"]).floatValues()
            XCTAssertGreaterThan(relativeDifference(masked, plain), 1e-3, "masking changed nothing: \(masked) vs \(plain)")
        }
        if runningStatistics {
            let initial = try Checkpoint.load(contentsOf: Fixtures.url("training/\(name).init.pt")).stateDict
            let moved = try b.keys.filter { $0.hasPrefix("running.") }.filter { key in
                let start = try XCTUnwrap(initial[String(key.dropFirst("running.".count))]).floatValues()
                return relativeDifference(try XCTUnwrap(b[key]).floatValues(), start) > 1e-3
            }
            XCTAssertGreaterThan(moved.count, 10, "BatchNorm running statistics did not move: not in training mode")
        }
    }
}

/// The 2-rank dump's summary must show several gradient buckets per step, most of them started during backward
/// in steps 2 and 3 (the first step learns the buckets and starts them all after backward).
private func checkOverlap(_ summary: String) throws {
    let line = try XCTUnwrap(summary.split(separator: "\n").last(where: { $0.contains("\"buckets\"") }), summary)
    let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    let reduced = try XCTUnwrap(fields["buckets"] as? Int), overlapped = try XCTUnwrap(fields["buckets_overlapped"] as? Int)
    XCTAssertGreaterThanOrEqual(reduced, 3 * 2, "expected several 16 KiB buckets per step: \(line)")
    XCTAssertGreaterThan(overlapped, reduced / 3, "too few buckets overlapped with backward: \(line)")
}

/// ‖a − b‖ / ‖b‖ over the parts of tensor `name` whose gradient is not zero by construction: attention key biases
/// get only rounding noise (softmax ignores a constant added to a row of scores), which AdamW's normalisation
/// turns into ±lr steps of arbitrary sign, in the reference as here; so only the query and value thirds of ViT's
/// packed `in_proj_bias` count, and BERT's `key.bias` and the RN50 attention pool's `k_proj.bias` are skipped (as in
/// TrainingParityTests).
func relativeDifference(_ name: String, _ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    if name.hasSuffix("attention.self.key.bias") || name.hasSuffix("attnpool.k_proj.bias") { return 0 }
    if name.hasSuffix("attn.in_proj_bias") {
        let third = b.count / 3
        return relativeDifference(Array(a[..<third]) + Array(a[(2 * third)...]), Array(b[..<third]) + Array(b[(2 * third)...]))
    }
    return relativeDifference(a, b)
}

/// ‖a − b‖ / ‖b‖ (‖a − b‖ when b is zero); infinity when the sizes differ.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var difference = 0.0, norm = 0.0
    for index in a.indices {
        let d = Double(a[index]) - Double(b[index])
        difference += d * d
        norm += Double(b[index]) * Double(b[index])
    }
    return norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
}

/// A batch file for `train-step-dump`: images with normal-ish random pixels and token rows `[CLS] words [SEP]`
/// of different lengths (ids below the tiny vocabulary's 200), from a fixed seed.
enum TestBatch {
    static func write(to url: URL, rows: Int, resolution: Int, length: Int = 12, seed: UInt64) throws {
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        let pixels = (0..<(rows * 3 * resolution * resolution)).map { _ in
            Float((-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()))
        }
        var ids = [Int64](repeating: 0, count: rows * length)
        for row in 0..<rows {
            let used = 4 + (row * 5) % (length - 3)
            ids[row * length] = 101
            for column in 1..<(used - 1) { ids[row * length + column] = 103 + Int64(uniform() * 96) }
            ids[row * length + used - 1] = 102
        }
        let images = try Tensor(shape: [rows, 3, resolution, resolution], data: pixels)
        try Checkpoint(layout: .bareStateDict, stateDict: StateDict([
            ("images", try StoredTensor(images)), ("ids", try StoredTensor(int64: ids, shape: [rows, length])),
        ])).write(to: url)
    }
}
