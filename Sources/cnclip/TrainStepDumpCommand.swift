import ArgumentParser
import Checkpoint
import Foundation
import Models
import Tensor
import Training

/// `cnclip train-step-dump` (hidden, diagnostic): one fp32 training step of the reference's loop (dropout off) on a
/// fixed batch, writing the loss, the gradients and the parameters after AdamW so a parity script can compare them
/// with the reference's own step.
struct TrainStepDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step-dump",
        abstract: "Run one training step on a fixed batch and write loss, gradients and updated parameters (diagnostic).",
        discussion: """
            The batch file (.pt or .safetensors) holds `images` [N,3,R,R] (preprocessed, fp32) and `ids` [N,L] \
            (token ids). The output (.pt or .safetensors) holds `loss`, `acc_i2t`, `acc_t2i`, `lr` (one value each), \
            and for every chosen parameter `grad.<name>` (its gradient) and `final.<name>` (its value after the \
            AdamW step and the logit-scale clamp). A JSON summary line goes to stdout.
            """,
        shouldDisplay: false)

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions

    @Option(help: "Tensors file with `images` [N,3,R,R] and `ids` [N,L].")
    var batch: String

    @Option(help: "Output file (.pt or .safetensors).")
    var output: String

    @Option(help: "Learning rate (default: the reference's for the vision model).")
    var lr: Double?

    @Option(help: "AdamW beta1 (default: the reference's for the vision model).")
    var beta1: Double?

    @Option(help: "AdamW beta2 (default: the reference's for the vision model).")
    var beta2: Double?

    @Option(help: "AdamW epsilon (default: the reference's for the vision model).")
    var eps: Double?

    @Option(help: "Weight decay of the decayed parameter group.")
    var wd = 0.2

    @Option(help: "Warm-up steps of the cosine schedule.")
    var warmup = 500

    @Option(name: .customLong("max-steps"), help: "Total steps of the cosine schedule.")
    var maxSteps = 1000

    @Option(help: "The 0-based global step this step is (picks the learning rate).")
    var step = 0

    @Option(name: .customLong("tensor"), help: "A parameter to write (repeatable; default: every trainable parameter).")
    var tensors: [String] = []

    func validate() throws {
        guard step >= 0 else { throw ValidationError("--step must not be negative") }
    }

    func run() throws {
        var settings = TrainingParameters(trainData: "")
        settings.visionModel = model.visionModel
        (settings.lr, settings.beta1, settings.beta2, settings.eps) = (lr, beta1, beta2, eps)
        try settings.fillOptimizerDefaults()
        guard let lr = settings.lr, let beta1 = settings.beta1, let beta2 = settings.beta2, let eps = settings.eps else {
            throw ValidationError("give --lr, --beta1, --beta2 and --eps")
        }
        let (images, tokens) = try readBatch()
        let clip = try CLIPModel.load(config: model.config(), checkpoint: checkpoint.url()).model
        let schedule = try CosineSchedule(baseLearningRate: lr, warmupSteps: warmup, totalSteps: maxSteps)
        let trainer = TrainingStep(model: clip, schedule: schedule, beta1: beta1, beta2: beta2, eps: eps,
                                   weightDecay: wd, options: TrainingOptions(dropout: false))
        let started = Date()
        let result = try trainer.run(step: step, images: images, tokens: tokens)
        FileHandle.standardError.write(Data(String(format: "step took %.1f s\n", Date().timeIntervalSince(started)).utf8))

        let entries = clip.stateEntries()
        let gradients = trainer.gradients.named(entries)
        let values = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.tensor) })
        let chosen = tensors.isEmpty ? entries.map(\.name).filter { gradients[$0] != nil } : tensors
        var written: [(String, StoredTensor)] = try [
            ("loss", Double(result.loss)), ("acc_i2t", Double(result.imageToTextAccuracy)),
            ("acc_t2i", Double(result.textToImageAccuracy)), ("lr", result.learningRate),
        ].map { ($0.0, try StoredTensor(Tensor(shape: [1], data: [Float($0.1)]))) }
        for name in chosen {
            guard let value = values[name] else { throw ValidationError("--tensor \(name): the model has no such tensor") }
            guard let gradient = gradients[name] else { throw ValidationError("--tensor \(name): no gradient reached it") }
            written.append(("grad.\(name)", try StoredTensor(gradient.contiguous())))
            written.append(("final.\(name)", try StoredTensor(value.contiguous())))
        }
        try Checkpoint(layout: .bareStateDict, stateDict: StateDict(written)).write(to: URL(fileURLWithPath: output))
        print("{\"loss\": \(result.loss), \"lr\": \(result.learningRate), \"acc_i2t\": \(result.imageToTextAccuracy), "
              + "\"acc_t2i\": \(result.textToImageAccuracy), \"tensors\": \(chosen.count)}")
    }

    /// The batch file's images and token-id rows.
    private func readBatch() throws -> (Tensor, [[Int]]) {
        let file = try Checkpoint.load(contentsOf: URL(fileURLWithPath: batch)).stateDict
        guard let images = file["images"], images.shape.count == 4 else {
            throw ValidationError("\(batch): needs an `images` tensor [N,3,R,R]")
        }
        guard let ids = file["ids"], ids.shape.count == 2, ids.shape[0] == images.shape[0],
              let values = ids.int64Values() else {
            throw ValidationError("\(batch): needs an integer `ids` tensor [N,L] with N = \(images.shape[0])")
        }
        let length = ids.shape[1]
        let tokens = stride(from: 0, to: values.count, by: length).map { values[$0..<($0 + length)].map { Int($0) } }
        return (images.tensor(), tokens)
    }
}
