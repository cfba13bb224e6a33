import Distributed
import Foundation
import Models
import Retrieval

/// Starting a whole run as `main.py` does: time-stamped log file, a model initialised from scratch, pretrained
/// tower weights (`--clip-weight-path`, `--bert-weight-path`; resume replaces all weights), the trainer, and its
/// summary. In a group of several ranks, rank 0 alone writes the log file (and stderr), params and checkpoints;
/// the from-scratch seed, when not given, is drawn by rank 0 and shared so every rank starts from the same weights.
public enum TrainingRun {
    /// Runs training with `parameters` (optimizer settings filled) on a model of `config`; `echo` copies the log to
    /// stderr.
    public static func start(parameters: TrainingParameters, config: ModelConfig, echo: Bool = true,
                             group: Communicator = SingleProcessCommunicator()) throws -> TrainingSummary {
        var parameters = parameters
        if group.isDistributed {
            parameters.initSeed = try group.broadcast(parameters.initSeed ?? UInt64.random(in: 0...UInt64.max), root: 0)
        }
        let stamp = TrainingLog.fileStamp()
        let logPath = parameters.savesOutputs && group.isPrimary
            ? ((parameters.logs ?? "") as NSString).appendingPathComponent("\(parameters.name)/out_\(stamp).log") : nil
        try Trainer.checkSupported(parameters)
        let log = try TrainingLog(path: logPath, echo: echo && group.isPrimary)
        let model = try CLIPModel(config: config)
        FromScratchInitializer.initialize(model, seed: parameters.initSeed ?? UInt64.random(in: 0...UInt64.max))
        try PretrainedTowerWeights.load(clipPath: parameters.clipWeightPath, bertPath: parameters.bertWeightPath,
                                        into: model, log: log.info)
        let trainer = try Trainer(parameters: parameters, model: model, log: log, stamp: stamp, logPath: logPath,
                                  group: group)
        return try trainer.run()
    }
}

extension TrainingSummary {
    /// `{"steps": …, "epochs": …, "valid_loss": …, "valid_i2t_acc": …, "valid_t2i_acc": …}` (validation fields
    /// only after a validation), floats as Python's repr.
    public var json: String {
        var fields = ["\"steps\": \(steps)", "\"epochs\": \(epochs)"]
        if let validation = lastValidation {
            fields += ["\"valid_loss\": \(pythonRepr(validation.loss))",
                       "\"valid_i2t_acc\": \(pythonRepr(validation.imageToTextAccuracy))",
                       "\"valid_t2i_acc\": \(pythonRepr(validation.textToImageAccuracy))"]
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}
