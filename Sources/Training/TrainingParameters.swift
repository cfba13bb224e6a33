import Foundation
import Retrieval

/// Every flag of the reference's `cn_clip/training/params.py` under the same meaning and default, plus
/// `modelConfig` (a merged config JSON that overrides the two tower names). Flags that only matter on GPUs or
/// across processes are kept so that command lines and params files carry over unchanged.
public struct TrainingParameters: Sendable {
    public var trainData: String
    public var valData: String?
    public var numWorkers = 4
    public var validNumWorkers = 1
    public var logs: String? = "./logs/"
    public var name = "train_clip"
    public var logInterval = 10
    public var reportTrainingBatchAcc = false
    public var batchSize = 64
    public var validBatchSize = 64
    public var maxSteps: Int?
    public var maxEpochs = 32
    public var validStepInterval: Int?
    public var validEpochInterval = 1
    public var contextLength = 52
    public var lr: Double?
    public var beta1: Double?
    public var beta2: Double?
    public var eps: Double?
    public var wd = 0.2
    public var warmup = 500
    public var useBnSync = false
    public var useAugment = false
    public var skipScheduler = false
    public var saveEpochFrequency = 1
    public var saveStepFrequency = -1
    public var resume: String?
    public var resetOptimizer = false
    public var resetDataOffset = false
    public var precision = "amp"
    public var visionModel = "ViT-B-16"
    public var maskRatio = 0.0
    public var clipWeightPath: String?
    public var freezeVision = false
    public var textModel = "RoBERTa-wwm-ext-base-chinese"
    public var bertWeightPath: String?
    public var gradCheckpointing = false
    public var useFlashAttention = false
    public var accumFreq = 1
    public var gatherWithGrad = false
    public var skipAggregate = false
    public var debug = false
    public var seed = 123
    public var distillation = false
    public var teacherModelName: String?
    public var kdLossWeight = 0.5
    /// Not in the reference: a merged vision+text config JSON deciding the architecture.
    public var modelConfig: String?
    /// Not in the reference: a seed for the from-scratch initialisation and dropout (the reference leaves both
    /// unseeded); nil draws one from the system.
    public var initSeed: UInt64?

    public init(trainData: String) { self.trainData = trainData }

    /// lr, β₁, β₂, ε that the reference fills in from the vision model's name when they are not given
    /// (`get_default_params`); other names get none.
    public static func defaultOptimizerSettings(visionModel: String) -> (lr: Double, beta1: Double, beta2: Double, eps: Double)? {
        switch visionModel {
        case "RN50", "RN101", "RN50x4": return (5.0e-4, 0.9, 0.999, 1.0e-8)
        case "ViT-B-32", "ViT-B-16", "ViT-H-14": return (5.0e-4, 0.9, 0.98, 1.0e-6)
        case "ViT-L-14", "ViT-L-14-336": return (4.0e-4, 0.9, 0.98, 1.0e-6)
        default: return nil
        }
    }

    /// Fills unset lr/β₁/β₂/ε from the vision model as the reference does.
    /// - Throws: `TrainerError.invalidArgument` when one stays unset (a vision name without defaults).
    public mutating func fillOptimizerDefaults() throws {
        let defaults = Self.defaultOptimizerSettings(visionModel: visionModel)
        lr = lr ?? defaults?.lr
        beta1 = beta1 ?? defaults?.beta1
        beta2 = beta2 ?? defaults?.beta2
        eps = eps ?? defaults?.eps
        for (flag, value) in [("--lr", lr), ("--beta1", beta1), ("--beta2", beta2), ("--eps", eps)] where value == nil {
            throw TrainerError.invalidArgument(flag: flag, reason: "no default for vision model \(visionModel); give it explicitly")
        }
    }

    /// Whether checkpoints are written (`--logs` not empty and not `none`).
    public var savesOutputs: Bool {
        guard let logs else { return false }
        return !logs.isEmpty && logs.lowercased() != "none"
    }

    /// `name: value` lines sorted by name, values as Python's `str` prints them, with the derived entries the
    /// reference adds to `args` before writing its params file (`derived`, e.g. `max_steps`, `log_path`).
    public func paramsLines(derived: [String: String]) -> [String] {
        var values: [String: String] = [
            "train_data": trainData, "val_data": python(valData), "num_workers": "\(numWorkers)",
            "valid_num_workers": "\(validNumWorkers)", "logs": python(logs), "name": name,
            "log_interval": "\(logInterval)", "report_training_batch_acc": python(reportTrainingBatchAcc),
            "batch_size": "\(batchSize)", "valid_batch_size": "\(validBatchSize)", "max_steps": python(maxSteps),
            "max_epochs": "\(maxEpochs)", "valid_step_interval": python(validStepInterval),
            "valid_epoch_interval": "\(validEpochInterval)", "context_length": "\(contextLength)",
            "lr": python(lr), "beta1": python(beta1), "beta2": python(beta2), "eps": python(eps), "wd": pythonRepr(wd),
            "warmup": "\(warmup)", "use_bn_sync": python(useBnSync), "use_augment": python(useAugment),
            "skip_scheduler": python(skipScheduler), "save_epoch_frequency": "\(saveEpochFrequency)",
            "save_step_frequency": "\(saveStepFrequency)", "resume": python(resume),
            "reset_optimizer": python(resetOptimizer), "reset_data_offset": python(resetDataOffset),
            "precision": precision, "vision_model": visionModel, "mask_ratio": pythonRepr(maskRatio),
            "clip_weight_path": python(clipWeightPath), "freeze_vision": python(freezeVision),
            "text_model": textModel, "bert_weight_path": python(bertWeightPath),
            "grad_checkpointing": python(gradCheckpointing), "use_flash_attention": python(useFlashAttention),
            "accum_freq": "\(accumFreq)", "gather_with_grad": python(gatherWithGrad),
            "skip_aggregate": python(skipAggregate), "aggregate": python(!skipAggregate), "debug": python(debug),
            "seed": "\(seed)", "distillation": python(distillation), "teacher_model_name": python(teacherModelName),
            "kd_loss_weight": pythonRepr(kdLossWeight), "model_config": python(modelConfig),
        ]
        values.merge(derived) { $1 }
        return values.keys.sorted().map { "\($0): \(values[$0] ?? "")" }
    }

    private func python(_ value: String?) -> String { value ?? "None" }
    private func python(_ value: Int?) -> String { value.map(String.init) ?? "None" }
    private func python(_ value: Double?) -> String { value.map { pythonRepr($0) } ?? "None" }
    private func python(_ value: Bool) -> String { value ? "True" : "False" }
}
