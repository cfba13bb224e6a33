import Distributed
import Foundation
import Layers
import Models
import Retrieval
import Tensor
import Tokenizer

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    /// Global optimizer steps done when the run ended (the checkpoint's `step`).
    public let steps: Int
    /// The epoch index the loop ended after (1-based epochs run: `startEpoch + 1 … epochs`).
    public let epochs: Int
    /// The last validation's result, if any ran.
    public let lastValidation: ValidationResult?
}

/// The reference's training run (`cn_clip/training/main.py` + `train.py`) on the CPU, in one process or as one rank
/// of an `mpirun` group: data from the LMDB splits in the seeded sampler order (each rank its strided slice),
/// warm-up + cosine schedule indexed from the epoch, fp32 AdamW steps on gradients averaged over the ranks,
/// validation at step/epoch intervals (totals summed over the ranks), `epoch{N}.pt` / `epoch_{E}_{S}.pt` /
/// `epoch_latest.pt` checkpoints (rank 0) and resume.
public final class Trainer {
    public let parameters: TrainingParameters
    public let model: CLIPModel
    public let log: TrainingLog
    public let step: TrainingStep
    public let train: LMDBTrainingSet
    public let validation: LMDBTrainingSet?
    /// `<logs>/<name>/checkpoints`.
    public let checkpointPath: String
    /// Optimizer steps per epoch (`num_batches // accum_freq`).
    public let stepsPerEpoch: Int
    public let maxSteps: Int
    public let maxEpochs: Int
    /// The process group (a group of one for a plain run).
    public let group: Communicator
    private let dropoutSeed: UInt64

    /// Prepares a run: checks the flags this port supports, opens the data, builds the optimizer and schedule,
    /// and logs the parameters (writing `params_<stamp>.txt` when outputs are saved).
    /// `model` holds the starting weights (from scratch or loaded); `parameters` must have its optimizer settings
    /// filled (`fillOptimizerDefaults`). In a group of several ranks only rank 0 writes files; every rank must
    /// pass the same parameters and starting weights (checked when the run starts).
    public init(parameters: TrainingParameters, model: CLIPModel, log: TrainingLog, stamp: String,
                logPath: String?, group: Communicator = SingleProcessCommunicator()) throws {
        try Self.checkSupported(parameters, model: model, worldSize: group.worldSize)
        self.group = group
        guard let lr = parameters.lr, let beta1 = parameters.beta1, let beta2 = parameters.beta2,
              let eps = parameters.eps else {
            throw TrainerError.invalidArgument(flag: "--lr", reason: "optimizer settings are not filled in")
        }
        var parameters = parameters
        self.model = model
        self.log = log
        let tokenizer = try Self.tokenizer(resume: parameters.resume, config: model.config)
        let resolution = model.config.imageResolution
        train = try LMDBTrainingSet(path: parameters.trainData, split: "train", resolution: resolution,
                                    contextLength: parameters.contextLength, tokenizer: tokenizer,
                                    augment: parameters.useAugment)
        validation = try parameters.valData.map {
            try LMDBTrainingSet(path: $0, split: "val", resolution: resolution,
                                contextLength: parameters.contextLength, tokenizer: tokenizer)
        }
        checkpointPath = ((parameters.logs ?? "") as NSString).appendingPathComponent(parameters.name + "/checkpoints")
        if parameters.savesOutputs && group.isPrimary {
            do {
                try FileManager.default.createDirectory(atPath: checkpointPath, withIntermediateDirectories: true)
            } catch {
                throw TrainerError.unwritableOutput(path: checkpointPath, reason: "\(error)")
            }
        }
        log.info(train.summary)
        if let validation { log.info(validation.summary) }
        let globalBatch = parameters.batchSize * group.worldSize
        let batches = train.paddedLength(globalBatchSize: globalBatch) / globalBatch
        stepsPerEpoch = batches / parameters.accumFreq
        if let maxSteps = parameters.maxSteps {
            maxEpochs = (maxSteps * parameters.accumFreq + batches - 1) / batches
            self.maxSteps = maxSteps
        } else {
            maxEpochs = parameters.maxEpochs
            maxSteps = stepsPerEpoch * parameters.maxEpochs
        }
        parameters.maxEpochs = maxEpochs
        parameters.maxSteps = maxSteps
        self.parameters = parameters
        let schedule = try CosineSchedule(baseLearningRate: lr, warmupSteps: parameters.warmup, totalSteps: maxSteps)
        let masking = try PatchMasking(ratio: parameters.maskRatio)
        step = TrainingStep(model: model, schedule: schedule, beta1: beta1, beta2: beta2, eps: eps,
                            weightDecay: parameters.wd,
                            options: TrainingOptions(gradientCheckpointing: parameters.gradCheckpointing,
                                                     freezeVision: parameters.freezeVision, dropout: true,
                                                     masking: masking.isActive ? masking : nil,
                                                     syncBatchNorm: parameters.useBnSync),
                            dataParallel: DataParallel(group: group, gatherWithGrad: parameters.gatherWithGrad,
                                                       aggregate: !parameters.skipAggregate))
        // Each rank draws its own dropout and FLIP masks (rank 0's are a single process's).
        let seed = parameters.initSeed ?? UInt64.random(in: 0...UInt64.max)
        dropoutSeed = group.rank == 0 ? seed : Dropout.mix(seed ^ UInt64(group.rank))
        if parameters.gradCheckpointing { log.info("Grad-checkpointing activated.") }
        if parameters.freezeVision { log.info("The visual encoder is freezed during training.") }
        try logParameters(stamp: stamp, logPath: logPath)
        if parameters.maskRatio > 0 && parameters.visionModel == "RN50" {
            log.info("Note: mask_ratio > 0 (FLIP strategy) is currently only implemented for VisualTransformer. "
                     + "It will not function for ResNet backbone.")
        }
    }

    /// Refuses the flags whose behaviour this CPU port does not implement (rather than silently ignoring them)
    /// and values the run cannot work with.
    public static func checkSupported(_ parameters: TrainingParameters, model: CLIPModel? = nil, worldSize: Int = 1) throws {
        if parameters.distillation {
            throw TrainerError.invalidArgument(flag: "--distillation", reason: "not supported: its teacher models are "
                + "ModelScope downloads (damo/multi-modal_…) that this port cannot fetch or run")
        }
        if parameters.accumFreq < 1 {
            throw TrainerError.invalidArgument(flag: "--accum-freq", reason: "must be at least 1, got \(parameters.accumFreq)")
        }
        _ = try PatchMasking(ratio: parameters.maskRatio)
        for (flag, value) in [("--batch-size", parameters.batchSize), ("--valid-batch-size", parameters.validBatchSize),
                              ("--log-interval", parameters.logInterval), ("--valid-epoch-interval", parameters.validEpochInterval),
                              ("--valid-step-interval", parameters.validStepInterval ?? 1)] where value == 0 || value < -1 {
            throw TrainerError.invalidArgument(flag: flag, reason: "must be positive (or -1 for intervals), got \(value)")
        }
        if parameters.batchSize < 1 || parameters.validBatchSize < 1 {
            throw TrainerError.invalidArgument(flag: "--batch-size", reason: "batch sizes must be positive")
        }
    }

    private func logDataSummaries() {
        log.info(train.summary)
        if let validation { log.info(validation.summary) }
    }

    private func logParameters(stamp: String, logPath: String?) throws {
        let derived = ["device": "cpu", "rank": "\(group.rank)", "world_size": "\(group.worldSize)",
                       "local_device_rank": "\(group.localRank)",
                       "log_level": parameters.debug ? "10" : "20", "log_path": logPath ?? "None",
                       "checkpoint_path": checkpointPath]
        let lines = parameters.paramsLines(derived: derived)
        log.info("Params:")
        if parameters.savesOutputs && group.isPrimary, let logs = parameters.logs {
            let path = (logs as NSString).appendingPathComponent("\(parameters.name)/params_\(stamp).txt")
            do {
                try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw TrainerError.unwritableOutput(path: path, reason: "\(error)")
            }
        }
        for line in lines { log.info("  \(line)") }
        // The reference logs `Use GPU: <local rank> for training`; no script parses it, so say what runs here.
        log.info(Trainer.deviceLine(threads: Parallel.threadCount))
    }

    /// The tokenizer training uses: a Hugging Face directory's `vocab.txt` when `--resume` names one (finetuning a
    /// Hub model), else the reference's bundled vocabulary.
    public static func tokenizer(resume: String?, config: ModelConfig) throws -> Tokenizer {
        guard let resume, HFModelDirectory.isDirectory(URL(fileURLWithPath: resume)) else { return try Tokenizer.bundled() }
        return try HFModelDirectory.tokenizer(at: URL(fileURLWithPath: resume), config: config)
    }

    /// The log line naming what trains: the CPU and how many threads the engine uses.
    public static func deviceLine(threads: Int) -> String {
        "Use CPU (\(threads) thread\(threads == 1 ? "" : "s")) for training"
    }

    /// Resumes (explicit `--resume`, or `epoch_latest.pt` when present) and runs the remaining epochs.
    public func run() throws -> TrainingSummary {
        var startEpoch = 0, steps = 0
        var resumePath = parameters.resume
        let latest = (checkpointPath as NSString).appendingPathComponent("epoch_latest.pt")
        if resumePath == nil, parameters.savesOutputs, FileManager.default.fileExists(atPath: latest) { resumePath = latest }
        // Rank 0 decides which checkpoint (if any) the run resumes; every rank then reads it from its own disk.
        let found = try group.broadcast(resumePath.map { FileManager.default.fileExists(atPath: $0) ? "1" + $0 : "0" + $0 } ?? "",
                                        root: 0)
        resumePath = found.isEmpty ? nil : String(found.dropFirst())
        if let path = resumePath {
            if found.hasPrefix("1") {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw TrainerError.missingData(path: path, reason: "rank 0 resumes this checkpoint but rank \(group.rank) "
                        + "cannot find it (every rank reads the checkpoint: put it on shared storage or copy it to each machine)")
                }
                let resumed = try TrainingCheckpoints.resume(from: path, model: model, optimizer: step.optimizer,
                                                             resetOptimizer: parameters.resetOptimizer, log: log)
                if !parameters.resetDataOffset {
                    startEpoch = resumed.epoch
                    steps = resumed.step
                    logDataSummaries()
                }
                log.info("=> loaded checkpoint '\(path)' (epoch \(resumed.epoch) @ \(steps) steps)")
            } else {
                log.info("=> no checkpoint found at '\(path)'")
            }
        }
        try checkRanksAgree()
        let resumedSteps = steps
        var lastValidation: ValidationResult?
        var epoch = startEpoch
        while epoch < maxEpochs {
            let stepsThisEpoch = try trainEpoch(epoch, lastValidation: &lastValidation)
            steps += stepsThisEpoch
            if let validation, (epoch + 1) % parameters.validEpochInterval == 0 {
                lastValidation = try validate(validation, epoch: epoch, steps: steps)
            }
            if epoch + 1 < maxEpochs { logDataSummaries() }
            if parameters.savesOutputs && group.isPrimary && stepsThisEpoch > 0 {
                let checkpoint = try TrainingCheckpoints.make(model: model, optimizer: step.optimizer, epoch: epoch + 1,
                                                              step: steps, name: parameters.name)
                if epoch + 1 == maxEpochs || (parameters.saveEpochFrequency > 0
                                              && (epoch + 1) % parameters.saveEpochFrequency == 0) {
                    try TrainingCheckpoints.save(checkpoint, to: checkpointFile("epoch\(epoch + 1).pt"), log: log)
                }
                try TrainingCheckpoints.save(checkpoint, to: checkpointFile("epoch_latest.pt"), log: log)
            }
            epoch += 1
        }
        if group.isDistributed && steps > resumedSteps {
            let stats = group.statistics, count = Double(steps - resumedSteps)
            log.info("Communication (rank 0): \(fixedDecimals(stats.seconds / count, 3))s per step in collectives, "
                     + "\(stats.bytesReduced / (steps - resumedSteps)) bytes all-reduced and "
                     + "\(stats.bytesGathered / (steps - resumedSteps)) bytes gathered per step, over \(group.worldSize) ranks; "
                     + "\(step.gradientBuckets.overlapped) of \(step.gradientBuckets.reduced) gradient buckets started during backward")
        }
        return TrainingSummary(steps: steps, epochs: epoch, lastValidation: lastValidation)
    }

    private func checkpointFile(_ name: String) -> String { (checkpointPath as NSString).appendingPathComponent(name) }

    /// One epoch of `train()`: returns the optimizer steps it ran. With `--accum-freq k` every k batches make one
    /// step (batch i belongs to step `stepsPerEpoch·epoch + i / k`); batches left over at the end are forwarded
    /// but never stepped, as in the reference.
    private func trainEpoch(_ epoch: Int, lastValidation: inout ValidationResult?) throws -> Int {
        let batchSize = parameters.batchSize, accum = parameters.accumFreq
        let batches = train.batches(batchSize: batchSize, seed: parameters.seed, epoch: epoch, rank: group.rank,
                                    worldSize: group.worldSize)
        let samplesPerEpoch = train.paddedLength(globalBatchSize: batchSize * group.worldSize)
        let batchesPerEpoch = samplesPerEpoch / (batchSize * group.worldSize)
        step.discardMicroBatches()
        var trained = 0
        var end = Date()
        for i in 0..<batchesPerEpoch {
            let globalStep = stepsPerEpoch * epoch + i / accum
            if globalStep >= maxSteps {
                log.info("Stopping training due to step \(globalStep) has reached max_steps \(maxSteps / accum)")
                return trained
            }
            guard let batch = try batches.next() else { break }
            let dataTime = Date().timeIntervalSince(end)
            let result: StepResult
            if accum == 1 {
                result = try step.run(step: globalStep, images: batch.images, tokens: batch.tokens,
                                      dropoutSeed: Dropout.mix(dropoutSeed &+ UInt64(globalStep)))
            } else {
                try step.cacheMicroBatch(images: batch.images, tokens: batch.tokens,
                                         dropoutSeed: Dropout.mix(dropoutSeed &+ UInt64(batchesPerEpoch * epoch + i)))
                if (i + 1) % accum != 0 { continue }
                result = try step.runAccumulated(step: globalStep)
            }
            let batchTime = Date().timeIntervalSince(end)
            end = Date()
            trained += 1
            if (globalStep + 1) % parameters.logInterval == 0 {
                log.info(trainingLine(step: globalStep, epoch: epoch, index: i, samplesPerEpoch: samplesPerEpoch,
                                      result: result, dataTime: dataTime, batchTime: batchTime))
            }
            if let validation, let interval = parameters.validStepInterval, (globalStep + 1) % interval == 0 {
                lastValidation = try validate(validation, epoch: epoch, steps: globalStep + 1)
            }
            if parameters.savesOutputs, group.isPrimary, parameters.saveStepFrequency > 0, (globalStep + 1) % parameters.saveStepFrequency == 0 {
                let checkpoint = try TrainingCheckpoints.make(model: model, optimizer: step.optimizer, epoch: epoch + 1,
                                                              step: globalStep + 1, name: parameters.name)
                try TrainingCheckpoints.save(checkpoint, to: checkpointFile("epoch_\(epoch + 1)_\(globalStep + 1).pt"), log: log)
                try TrainingCheckpoints.save(checkpoint, to: checkpointFile("epoch_latest.pt"), log: log)
            }
        }
        return trained
    }

    /// The reference's training log message for step `step` (0-based) at batch `index` of `epoch`.
    private func trainingLine(step: Int, epoch: Int, index: Int, samplesPerEpoch: Int, result: StepResult,
                              dataTime: Double, batchTime: Double) -> String {
        let globalBatchSize = parameters.batchSize * parameters.accumFreq * group.worldSize
        let stepIndex = index / parameters.accumFreq
        let percent = 100.0 * Double(stepIndex + 1) / Double(stepsPerEpoch)
        var line = "Global Steps: \(step + 1)/\(maxSteps) | Train Epoch: \(epoch + 1) "
            + "[\((stepIndex + 1) * globalBatchSize)/\(samplesPerEpoch) (\(fixedDecimals(percent, 0))%)] | "
            + "Loss: \(fixedDecimals(Double(result.loss), 6)) | "
        if parameters.reportTrainingBatchAcc {
            line += "Image2Text Acc: \(fixedDecimals(Double(result.imageToTextAccuracy) * 100, 2)) | "
                + "Text2Image Acc: \(fixedDecimals(Double(result.textToImageAccuracy) * 100, 2)) | "
        }
        let logitScale = Double(model.logitScale.contiguous().toArray()[0])
        return line + "Data Time: \(fixedDecimals(dataTime, 3))s | Batch Time: \(fixedDecimals(batchTime, 3))s | "
            + "LR: \(fixedDecimals(result.learningRate, 6)) | logit_scale: \(fixedDecimals(logitScale, 3)) | "
            + "Global Batch Size: \(globalBatchSize)"
    }
}
