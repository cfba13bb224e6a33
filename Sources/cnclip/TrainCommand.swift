import ArgumentParser
import Distributed
import Foundation
import Models
import Training

/// `cnclip train`: the reference's `cn_clip/training/main.py` on the CPU, in one process or as the ranks of an
/// `mpirun` launch, with its flags, defaults, log lines, params file, checkpoints and resume rules. Prints a JSON
/// summary on stdout when done (rank 0).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or finetune Chinese-CLIP on LMDB splits as cn_clip/training/main.py does (CPU, fp32; several processes with mpirun).",
        discussion: """
            Logs go to <logs>/<name>/out_<UTC stamp>.log and stderr, parameters to params_<stamp>.txt, checkpoints to \
            <logs>/<name>/checkpoints (epoch{N}.pt, epoch_{E}_{S}.pt, epoch_latest.pt, readable by the reference). \
            An existing epoch_latest.pt is resumed automatically. To finetune a released model, pass it with \
            --resume <file.pt> --reset-data-offset --reset-optimizer. Without --resume the weights are initialised \
            from scratch as the reference initialises them, then --clip-weight-path / --bert-weight-path replace \
            the image / text tower (fp16-rounded as the reference's load() leaves them). \
            Under `mpirun -np N` each process is one rank: --batch-size is per rank (Global Batch Size = \
            batch size × accum-freq × N), features are all-gathered for the loss and gradients averaged as the \
            reference's DDP does; rank 0 writes logs and checkpoints; a failing rank ends the whole job. \
            Size ranks × CNCLIP_NUM_THREADS to the cores (see the README).
            """)

    @Option(name: .customLong("train-data"), help: "LMDB directory of the training split (with pairs/ and imgs/).")
    var trainData: String
    @Option(name: .customLong("val-data"), help: "LMDB directory of the validation split; none disables validation.")
    var valData: String?
    @Option(name: .customLong("num-workers"), help: "Accepted for compatibility: data is decoded on one background thread here.")
    var numWorkers = 4
    @Option(name: .customLong("valid-num-workers"), help: "Accepted for compatibility (one background thread here).")
    var validNumWorkers = 1
    @Option(name: .long, help: "Where to store logs and checkpoints; 'none' or empty stores nothing but the console log.")
    var logs = "./logs/"
    @Option(name: .long, help: "The run's name (sub-directory of --logs).")
    var name = "train_clip"
    @Option(name: .customLong("log-interval"), help: "Log a training line every this many steps.")
    var logInterval = 10
    @Flag(name: .customLong("report-training-batch-acc"), help: "Add the in-batch accuracies to the training lines.")
    var reportTrainingBatchAcc = false
    @Option(name: .customLong("batch-size"), help: "Training batch size.")
    var batchSize = 64
    @Option(name: .customLong("valid-batch-size"), help: "Validation batch size.")
    var validBatchSize = 64
    @Option(name: .customLong("max-steps"), help: "Steps to train for (takes priority over --max-epochs).")
    var maxSteps: Int?
    @Option(name: .customLong("max-epochs"), help: "Epochs to train for when --max-steps is not given.")
    var maxEpochs = 32
    @Option(name: .customLong("valid-step-interval"), help: "Validate every this many steps (-1: every step).")
    var validStepInterval: Int?
    @Option(name: .customLong("valid-epoch-interval"), help: "Validate every this many epochs (-1: every epoch).")
    var validEpochInterval = 1
    @Option(name: .customLong("context-length"), help: "Token sequence length including [CLS] and [SEP].")
    var contextLength = 52
    @Option(name: .long, help: "Learning rate (default from the vision model: 5e-4, or 4e-4 for ViT-L).")
    var lr: Double?
    @Option(name: .long, help: "Adam β₁ (default from the vision model).")
    var beta1: Double?
    @Option(name: .long, help: "Adam β₂ (default from the vision model).")
    var beta2: Double?
    @Option(name: .long, help: "Adam ε (default from the vision model).")
    var eps: Double?
    @Option(name: .long, help: "Weight decay.")
    var wd = 0.2
    @Option(name: .long, help: "Warm-up steps.")
    var warmup = 500
    @Flag(name: .customLong("use-bn-sync"), help: "SyncBatchNorm for an RN50 tower: BatchNorm statistics over every rank's batch (two all-reduces per layer forward, one backward). As in the reference, --freeze-vision then leaves BatchNorm in training mode.")
    var useBnSync = false
    @Flag(name: .customLong("use-augment"), help: "Augment training images as the reference's timm transform does: random resized crop (scale 0.9-1), horizontal flip, AutoAugment 'original' (Pillow-exact ops). Train split only; seeded from --seed, epoch and sample position, so runs repeat (the reference's are unseeded).")
    var useAugment = false
    @Flag(name: .customLong("skip-scheduler"), help: "Parsed and ignored, as by the reference.")
    var skipScheduler = false
    @Option(name: .customLong("save-epoch-frequency"), help: "Save epoch{N}.pt every this many epochs.")
    var saveEpochFrequency = 1
    @Option(name: .customLong("save-step-frequency"), help: "Save epoch_{E}_{S}.pt every this many steps (-1: never).")
    var saveStepFrequency = -1
    @Option(name: .long, help: "Checkpoint to resume from (default: <logs>/<name>/checkpoints/epoch_latest.pt if present).")
    var resume: String?
    @Flag(name: .customLong("reset-optimizer"), help: "On resume, start the optimizer afresh.")
    var resetOptimizer = false
    @Flag(name: .customLong("reset-data-offset"), help: "On resume, start at epoch 0, step 0 (the schedule restarts).")
    var resetDataOffset = false
    @Option(name: .long, help: ArgumentHelp(
        "amp, fp16 or fp32 (default amp, the reference's CUDA autocast: fp32 arithmetic on a CPU). Training runs in "
            + "fp32; an explicit amp asks for bf16 autocast, which needs AVX512_BF16 or AMX-BF16 and is refused here.",
        valueName: "amp|fp16|fp32"))
    var precision: String?
    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("mask-ratio"), help: "FLIP: drop this fraction of a ViT's patch tokens (random per image) in training forward passes; ignored for ResNets.")
    var maskRatio = 0.0
    @Option(name: .customLong("clip-weight-path"), help: "Bare CLIP state dict (transform_openai_pretrain_weights.py output) to start the image tower and logit_scale from.")
    var clipWeightPath: String?
    @Flag(name: .customLong("freeze-vision"), help: "Do not train the vision tower.")
    var freezeVision = false
    @Option(name: .customLong("bert-weight-path"), help: "BERT state dict (a Hugging Face pytorch_model.bin, torch zip or legacy format, or .safetensors) to start the text tower from; bert.pooler is skipped.")
    var bertWeightPath: String?
    @Flag(name: .customLong("grad-checkpointing"), help: "Recompute block activations in the backward pass (less memory).")
    var gradCheckpointing = false
    @Flag(name: .customLong("use-flash-attention"), help: "Accepted; a CUDA kernel choice with the same result, ignored here.")
    var useFlashAttention = false
    @Option(name: .customLong("accum-freq"), help: "Gradient accumulation: one optimizer step per this many batches, the loss over all of them (global batch = batch size × this).")
    var accumFreq = 1
    @Flag(name: .customLong("gather-with-grad"), help: "Across ranks: gather features differentiably in rank order (the exact gradient of the global batch); default: local features first, gathered copies without gradient.")
    var gatherWithGrad = false
    @Flag(name: .customLong("skip-aggregate"), help: "Across ranks: each rank's loss over its own batch only (no all-gather).")
    var skipAggregate = false
    @Flag(name: .long, help: "Log at DEBUG level (sets log_level 10 in the params).")
    var debug = false
    @Option(name: .long, help: "Seed of the data samplers' shuffling.")
    var seed = 123
    @Flag(name: .long, help: "Knowledge distillation from a ModelScope teacher (refused: the teachers are ModelScope downloads this port cannot use).")
    var distillation = false
    @Option(name: .customLong("teacher-model-name"), help: "Distillation teacher (unused here).")
    var teacherModelName: String?
    @Option(name: .customLong("kd_loss_weight"), help: "Distillation loss weight (unused here).")
    var kdLossWeight = 0.5
    @Option(name: .customLong("init-seed"), help: "Seed of the from-scratch initialisation and dropout (the reference leaves them unseeded).")
    var initSeed: UInt64?

    func validate() throws {
        do { _ = try TrainingPrecision.resolve(precision) } catch let error as TrainingPrecisionError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        var parameters = TrainingParameters(trainData: trainData)
        parameters.valData = valData
        parameters.numWorkers = numWorkers
        parameters.validNumWorkers = validNumWorkers
        parameters.logs = logs
        parameters.name = name
        parameters.logInterval = logInterval
        parameters.reportTrainingBatchAcc = reportTrainingBatchAcc
        parameters.batchSize = batchSize
        parameters.validBatchSize = validBatchSize
        parameters.maxSteps = maxSteps
        parameters.maxEpochs = maxEpochs
        parameters.validStepInterval = validStepInterval
        parameters.validEpochInterval = validEpochInterval
        parameters.contextLength = contextLength
        (parameters.lr, parameters.beta1, parameters.beta2, parameters.eps) = (lr, beta1, beta2, eps)
        parameters.wd = wd
        parameters.warmup = warmup
        parameters.useBnSync = useBnSync
        parameters.useAugment = useAugment
        parameters.skipScheduler = skipScheduler
        parameters.saveEpochFrequency = saveEpochFrequency
        parameters.saveStepFrequency = saveStepFrequency
        parameters.resume = resume
        parameters.resetOptimizer = resetOptimizer
        parameters.resetDataOffset = resetDataOffset
        parameters.precision = precision ?? "amp"
        parameters.visionModel = model.visionModel
        parameters.textModel = model.textModel
        parameters.modelConfig = model.modelConfig
        parameters.maskRatio = maskRatio
        parameters.clipWeightPath = clipWeightPath
        parameters.freezeVision = freezeVision
        parameters.bertWeightPath = bertWeightPath
        parameters.gradCheckpointing = gradCheckpointing
        parameters.useFlashAttention = useFlashAttention
        parameters.accumFreq = accumFreq
        parameters.gatherWithGrad = gatherWithGrad
        parameters.skipAggregate = skipAggregate
        parameters.debug = debug
        parameters.seed = seed
        parameters.distillation = distillation
        parameters.teacherModelName = teacherModelName
        parameters.kdLossWeight = kdLossWeight
        parameters.initSeed = initSeed
        try parameters.fillOptimizerDefaults()
        let group = try ProcessGroup.join()
        try ProcessGroup.run(group) {
            let summary = try TrainingRun.start(parameters: parameters, config: model.config(checkpoint: resume),
                                                group: group)
            if group.isPrimary { print(summary.json) }
        }
    }
}
