import ArgumentParser
import Checkpoint
import Distributed
import Foundation
import Models
import Tensor
import Training

/// `cnclip train-step-dump` (hidden, diagnostic): fp32 training steps of the reference's loop (dropout off) on a
/// fixed batch, writing the loss, the gradients and the parameters after AdamW so a parity script or test can
/// compare them with the reference's own steps, or a run over `mpirun` ranks with one process.
struct TrainStepDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step-dump",
        abstract: "Run one training step on a fixed batch and write loss, gradients and updated parameters (diagnostic).",
        discussion: """
            The batch file (.pt or .safetensors) holds `images` [N,3,R,R] (preprocessed, fp32) and `ids` [N,L] \
            (token ids). The output (.pt or .safetensors) holds `loss`, `acc_i2t`, `acc_t2i`, `lr` (one value each), \
            and for every chosen parameter `grad.<name>` (its gradient) and `final.<name>` (its value after the \
            AdamW step and the logit-scale clamp); a ResNet's BatchNorm running statistics after the last step are \
            `running.<name>`. A JSON summary line goes to stdout. \
            With --steps N the batch is trained on N times (steps --step … --step+N−1); `loss` and `grad.*` are the \
            first step's, `losses` holds every step's loss and `final.*` the parameters after the last. With \
            --accum-freq k the batch's rows form k consecutive micro-batches of one accumulated step. Under \
            `mpirun -np W` rank r takes part r of every micro-batch (so W ranks see the same global batch as one \
            process) and rank 0 writes the output.
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

    @Option(help: "Optimizer steps to run on the batch.")
    var steps = 1

    @Option(name: .customLong("accum-freq"), help: "Micro-batches per step (the batch's rows split in this many).")
    var accumFreq = 1

    @Flag(name: .customLong("freeze-vision"), help: "Do not train the vision tower.")
    var freezeVision = false

    @Flag(name: .customLong("gather-with-grad"), help: "Across ranks: gather features differentiably.")
    var gatherWithGrad = false

    @Option(name: .customLong("mask-ratio"), help: "FLIP patch masking of a ViT (patches drawn per step for the whole batch from --mask-seed; rank r keeps its rows' draws, so any number of ranks masks alike).")
    var maskRatio = 0.0

    @Option(name: .customLong("mask-seed"), help: "Seed of the FLIP patch draws.")
    var maskSeed: UInt64 = 7

    @Option(name: .customLong("bucket-kib"), help: "Across ranks: gradient bucket size in KiB (the first bucket is at most 1 MiB).")
    var bucketKiB = 25 * 1024

    @Flag(name: .customLong("use-bn-sync"), help: "SyncBatchNorm: a ResNet tower's BatchNorm statistics span every rank's rows (and stay in training mode when the tower is frozen).")
    var useBnSync = false

    @Option(name: .customLong("tower-gradient-scale"),
            help: "Multiply every gradient but logit_scale's by this before each AdamW step (one process emulating the reference's default gather over N ranks: 1/N).")
    var towerGradientScale: Float = 1

    func validate() throws {
        guard step >= 0 else { throw ValidationError("--step must not be negative") }
        guard steps >= 1, accumFreq >= 1, bucketKiB >= 1 else {
            throw ValidationError("--steps, --accum-freq and --bucket-kib must be at least 1")
        }
    }

    func run() throws {
        let group = try ProcessGroup.join()
        try ProcessGroup.run(group) { try run(group: group) }
    }

    private func run(group: Communicator) throws {
        var settings = TrainingParameters(trainData: "")
        settings.visionModel = model.visionModel
        (settings.lr, settings.beta1, settings.beta2, settings.eps) = (lr, beta1, beta2, eps)
        try settings.fillOptimizerDefaults()
        guard let lr = settings.lr, let beta1 = settings.beta1, let beta2 = settings.beta2, let eps = settings.eps else {
            throw ValidationError("give --lr, --beta1, --beta2 and --eps")
        }
        let (images, tokens) = try readBatch()
        let micro = try microBatches(images: images, tokens: tokens, group: group)
        let clip = try CLIPModel.load(config: model.config(), checkpoint: checkpoint.url()).model
        let schedule = try CosineSchedule(baseLearningRate: lr, warmupSteps: warmup, totalSteps: maxSteps)
        let trainer = TrainingStep(model: clip, schedule: schedule, beta1: beta1, beta2: beta2, eps: eps,
                                   weightDecay: wd, options: TrainingOptions(freezeVision: freezeVision, dropout: false,
                                                                             syncBatchNorm: useBnSync),
                                   dataParallel: DataParallel(group: group, gatherWithGrad: gatherWithGrad,
                                                             bucketBytes: bucketKiB << 10))
        let entries = clip.stateEntries()
        let started = Date()
        var losses: [Float] = [], first: ContrastiveLossResult?, firstGradients: [String: Tensor] = [:]
        var learningRate = 0.0
        let masking = try PatchMasking(ratio: maskRatio)
        for index in 0..<steps {
            learningRate = schedule.learningRate(step: step + index)
            let kept = try keptPatches(masking, model: clip, rows: tokens.count, step: index, group: group)
            let result: ContrastiveLossResult
            if accumFreq == 1 {
                result = try trainer.lossAndGradients(images: micro[0].images, tokens: micro[0].tokens, keptPatches: kept?[0])
            } else {
                for part in micro { try trainer.cacheMicroBatch(images: part.images, tokens: part.tokens, dropoutSeed: 0) }
                result = try trainer.accumulatedLossAndGradients(keptPatches: kept)
            }
            if towerGradientScale != 1 {
                for entry in entries where entry.kind == .parameter && entry.name != "logit_scale" {
                    if let gradient = trainer.gradients.gradient(for: entry.tensor) {
                        try addInPlace(gradient, gradient, scale: towerGradientScale - 1)
                    }
                }
            }
            if index == 0 {
                first = result
                firstGradients = trainer.gradients.named(entries).mapValues { gradient in
                    let copy = Tensor(zeros: gradient.shape)
                    gradient.copyElements(to: copy.storage.pointer)
                    return copy
                }
            }
            losses.append(result.loss)
            trainer.optimizer.step(gradients: trainer.gradients, learningRate: learningRate)
            trainer.clampLogitScale()
        }
        FileHandle.standardError.write(Data(String(format: "%d step(s) took %.1f s\n", steps,
                                                   Date().timeIntervalSince(started)).utf8))
        guard group.isPrimary, let first else { return }
        let values = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.tensor) })
        let chosen = tensors.isEmpty ? entries.map(\.name).filter { firstGradients[$0] != nil } : tensors
        var written: [(String, StoredTensor)] = try [
            ("loss", Double(first.loss)), ("acc_i2t", Double(first.imageToTextAccuracy)),
            ("acc_t2i", Double(first.textToImageAccuracy)), ("lr", learningRate),
        ].map { ($0.0, try StoredTensor(Tensor(shape: [1], data: [Float($0.1)]))) }
        written.append(("losses", try StoredTensor(Tensor(shape: [losses.count], data: losses))))
        for name in chosen {
            guard let value = values[name] else { throw ValidationError("--tensor \(name): the model has no such tensor") }
            guard let gradient = firstGradients[name] else { throw ValidationError("--tensor \(name): no gradient reached it") }
            written.append(("grad.\(name)", try StoredTensor(gradient)))
            written.append(("final.\(name)", try StoredTensor(value.contiguous())))
        }
        for entry in entries where entry.name.hasSuffix(".running_mean") || entry.name.hasSuffix(".running_var") {
            written.append(("running.\(entry.name)", try StoredTensor(entry.tensor.contiguous())))
        }
        try Checkpoint(layout: .bareStateDict, stateDict: StateDict(written)).write(to: URL(fileURLWithPath: output))
        print("{\"loss\": \(first.loss), \"lr\": \(learningRate), \"acc_i2t\": \(first.imageToTextAccuracy), "
              + "\"acc_t2i\": \(first.textToImageAccuracy), \"tensors\": \(chosen.count), \"world_size\": \(group.worldSize), "
              + "\"buckets\": \(trainer.gradientBuckets.reduced), \"buckets_overlapped\": \(trainer.gradientBuckets.overlapped)}")
    }

    /// With masking on, this rank's kept patches per micro-batch: every row of the batch draws its patches from
    /// `--mask-seed` and the step, and each rank takes its own rows' draws (the rows `microBatches` gives it).
    private func keptPatches(_ masking: PatchMasking, model: CLIPModel, rows: Int, step: Int,
                             group: Communicator) throws -> [[[Int]]]? {
        guard masking.isActive else { return nil }
        guard case let .transformer(tower) = model.visual else {
            throw ValidationError("--mask-ratio masks a ViT's patches; this model's vision tower is a ResNet")
        }
        let all = masking.keptPatches(images: rows, patches: tower.positionalEmbedding.shape[0] - 1,
                                      seed: maskSeed &+ UInt64(step))
        let size = rows / (accumFreq * group.worldSize)
        return (0..<accumFreq).map { slot in
            let start = (slot * group.worldSize + group.rank) * size
            return Array(all[start..<(start + size)])
        }
    }

    /// This rank's part of each of the `--accum-freq` micro-batches the batch's rows form.
    private func microBatches(images: Tensor, tokens: [[Int]], group: Communicator) throws -> [(images: Tensor, tokens: [[Int]])] {
        let rows = tokens.count, parts = accumFreq * group.worldSize
        guard rows % parts == 0 else {
            throw ValidationError("\(batch): \(rows) rows do not split into \(accumFreq) micro-batches × \(group.worldSize) ranks")
        }
        let size = rows / parts
        return try (0..<accumFreq).map { slot in
            let start = (slot * group.worldSize + group.rank) * size
            return (try images.sliced(axis: 0, range: start..<(start + size)).contiguous(), Array(tokens[start..<(start + size)]))
        }
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
