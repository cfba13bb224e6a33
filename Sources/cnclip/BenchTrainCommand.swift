import ArgumentParser
import Foundation
import Models
import Tensor
import Training

/// `cnclip bench train`: seconds per fp32 training step (forward, contrastive loss, backward, AdamW), pairs/s,
/// GFLOP/s (model FLOPs: 3× the forward pass of each trained tower, 1× for a frozen one) and peak memory.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Time one training step on random weights and a random batch (fp32).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Image-text pairs per step.")
    var batch = 8

    @Flag(name: .customLong("freeze-vision"), help: "Train only the text tower (the vision tower runs in inference mode).")
    var freezeVision = false

    @Flag(name: .customLong("grad-checkpointing"), help: "Keep only block inputs and recompute blocks in backward.")
    var gradCheckpointing = false

    @OptionGroup var shape: ModelBenchOptions

    func run() throws {
        options.applyThreads()
        let clip = try randomWeightModel(model)
        let config = clip.config
        let contextLength = shape.contextLength
        let resolution = config.imageResolution
        let images = try benchTensor([batch, 3, resolution, resolution], seed: 11)
        let tokens = benchTokens(count: batch, length: contextLength)
        let isResNet = if case .resnet = config.vision { true } else { false }
        let schedule = try CosineSchedule(baseLearningRate: 5e-4, warmupSteps: 500, totalSteps: 10_000)
        let trainer = TrainingStep(model: clip, schedule: schedule, beta1: 0.9, beta2: isResNet ? 0.999 : 0.98,
                                   eps: isResNet ? 1e-8 : 1e-6, weightDecay: 0.2,
                                   options: TrainingOptions(gradientCheckpointing: gradCheckpointing,
                                                            freezeVision: freezeVision, dropout: true))
        var step = 0
        let seconds = try time(options) {
            _ = try trainer.run(step: step, images: images, tokens: tokens, dropoutSeed: UInt64(step))
            step += 1
        }
        let flops = Double(batch) * (imageFLOPs(clip) * (freezeVision ? 1 : 3)
            + 3 * textFLOPs(config, length: contextLength))
        var flags = freezeVision ? " --freeze-vision" : ""
        if gradCheckpointing { flags += " --grad-checkpointing" }
        let measurement = Measurement(bench: "train \(model.visionModel)+\(model.textModel)\(flags)",
                                      shape: "batch \(batch)x\(contextLength)", seconds: seconds, flops: flops,
                                      bytes: nil, items: Double(batch))
        let peakMB = peakResidentMegabytes()
        if options.json {
            let line: [String: Any] = ["bench": "train", "vision": model.visionModel, "text": model.textModel,
                                       "batch": batch, "freeze_vision": freezeVision,
                                       "grad_checkpointing": gradCheckpointing, "seconds": measurement.median,
                                       "items_per_s": Double(batch) / measurement.median,
                                       "gflops": measurement.gflops ?? 0, "peak_mb": peakMB]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            report([measurement], options: options, peakGFLOPS: machinePeak(shape.peak))
            print(String(format: "%.3f s/step, %.2f pairs/s, peak resident memory %d MB", measurement.median,
                         Double(batch) / measurement.median, peakMB))
        }
    }
}
