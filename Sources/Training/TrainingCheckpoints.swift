import Checkpoint
import Foundation
import Layers
import Models
import Retrieval
import Tensor

/// Writing and reading the reference's training checkpoints: `{epoch, step, name, state_dict, optimizer}` with
/// every state-dict key prefixed `module.` (fp32, BatchNorm counters int64) and torch's AdamW state.
public enum TrainingCheckpoints {
    /// The checkpoint of `model` and `optimizer` after `step` steps in 1-based `epoch` of run `name`.
    public static func make(model: CLIPModel, optimizer: AdamW, epoch: Int, step: Int, name: String) throws -> Checkpoint {
        let entries = try model.stateEntries(prefix: "module").map { entry -> (String, StoredTensor) in
            if entry.kind == .integerBuffer {
                return (entry.name, try StoredTensor(int64: entry.tensor.contiguous().toArray().map { Int64($0) },
                                                     shape: entry.tensor.shape))
            }
            return (entry.name, try StoredTensor(entry.tensor.contiguous()))
        }
        return Checkpoint(layout: .training, stateDict: StateDict(entries), epoch: epoch, step: step, name: name,
                          optimizer: try optimizer.checkpointState.pickleValue)
    }

    /// Writes the checkpoint atomically to `path` and logs the reference's `Saved checkpoint …` line.
    public static func save(_ checkpoint: Checkpoint, to path: String, log: TrainingLog) throws {
        let start = Date()
        try checkpoint.write(to: URL(fileURLWithPath: path))
        let seconds = Date().timeIntervalSince(start)
        log.info("Saved checkpoint \(path) (epoch \(checkpoint.epoch ?? 0) @ \(checkpoint.step ?? 0) steps) "
                 + "(writing took \(pythonRepr(seconds)) seconds)")
    }

    /// What a resume restored.
    public struct Resumed: Sendable {
        public let epoch: Int
        public let step: Int
    }

    /// Loads `path` into `model` strictly with the training-resume key rule (`module.` required, `bert.pooler`
    /// dropped) and, unless `resetOptimizer`, restores `optimizer`; logs as the reference does.
    /// - Throws: `TrainerError.unusableCheckpoint` when the file lacks `epoch`/`step` or its optimizer does not fit;
    ///   `CheckpointError` naming the keys that do not match the model.
    public static func resume(from path: String, model: CLIPModel, optimizer: AdamW, resetOptimizer: Bool,
                              log: TrainingLog) throws -> Resumed {
        log.info("=> begin to load checkpoint '\(path)'")
        let url = URL(fileURLWithPath: path)
        if HFModelDirectory.isDirectory(url) { return try resumeFromHuggingFace(url, model: model, resetOptimizer: resetOptimizer) }
        let checkpoint = try Checkpoint.load(contentsOf: URL(fileURLWithPath: path))
        guard let epoch = checkpoint.epoch, let step = checkpoint.step else {
            throw TrainerError.unusableCheckpoint(path: path, reason: "it has no \"epoch\"/\"step\" entries (not a training checkpoint)")
        }
        try model.load(model.resizingPositionalEmbedding(in: checkpoint.stateDict, prefix: "module.", log: log.info), rule: .trainingResume)
        if !resetOptimizer {
            guard let state = checkpoint.optimizer else {
                throw TrainerError.unusableCheckpoint(path: path, reason: "it has no \"optimizer\" entry (use --reset-optimizer)")
            }
            do {
                try optimizer.restore(from: AdamWCheckpointState(pickleValue: state, path: path))
            } catch {
                throw TrainerError.unusableCheckpoint(path: path, reason: "\(error)")
            }
            log.info("=> optimizer state is restored from the checkpoint")
        }
        return Resumed(epoch: epoch, step: step)
    }

    /// Finetuning from a Hugging Face ChineseCLIP directory: its weights (strictly, as any resume), at epoch 0, step 0;
    /// it has no optimizer state, so `--reset-optimizer` is required.
    private static func resumeFromHuggingFace(_ directory: URL, model: CLIPModel, resetOptimizer: Bool) throws -> Resumed {
        guard resetOptimizer else {
            throw TrainerError.unusableCheckpoint(path: directory.path, reason: "a Hugging Face model directory holds "
                                                  + "no optimizer state (use --reset-optimizer)")
        }
        let (stateDict, _) = try HFModelDirectory.stateDict(at: directory, config: model.config)
        try model.load(stateDict)
        return Resumed(epoch: 0, step: 0)
    }
}
