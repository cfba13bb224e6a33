import Checkpoint
import Foundation
import Models
import Tensor

/// The reference's `load(model, clip_path, bert_path)` → `restore_model` (REFERENCE §2.4), run by training before
/// anything else touches the weights: the image tower and `logit_scale` come from a CLIP state dict (keys starting
/// with `visual`, plus `logit_scale`, as `transform_openai_pretrain_weights.py` writes them), the text tower from a
/// BERT state dict (keys starting with `bert` except `bert.pooler.*`, as in a Hugging Face `pytorch_model.bin`); keys
/// are used as they are, others are ignored (a non-strict load). `convert_weights` runs first, so every tensor the
/// reference keeps in fp16 is rounded to fp16, loaded or not.
///
/// A ViT positional embedding of another grid is resized as the reference's `resize_pos_embed` does (the line
/// `Resizing position embedding grid-size from (a, a) to (b, b)` goes to `log`).
public enum PretrainedTowerWeights {
    /// Loads the given files (either may be nil) into `model`.
    /// - Throws: `TrainerError.unusableWeights` naming the flag and file: missing or unreadable, a positional
    ///   embedding that cannot be resized, or a tensor whose shape differs from the model's.
    public static func load(clipPath: String?, bertPath: String?, into model: CLIPModel,
                            log: (String) -> Void = { _ in }) throws {
        var selected: [String: (flag: String, path: String, tensor: StoredTensor)] = [:]
        for (flag, path, keep) in [("--clip-weight-path", clipPath, isImageTowerKey),
                                   ("--bert-weight-path", bertPath, isTextTowerKey)] {
            guard let path else { continue }
            var file = try stateDict(flag: flag, path: path)
            if keep("visual.positional_embedding") {
                do {
                    file = try model.resizingPositionalEmbedding(in: file, log: log)
                } catch {
                    throw TrainerError.unusableWeights(flag: flag, path: path, reason: "\(error)")
                }
            }
            for (key, tensor) in file.entries where keep(key) {
                selected[key] = (flag, path, tensor)
            }
        }
        let entries = model.stateEntries()
        for entry in entries {
            guard let (flag, path, tensor) = selected[entry.name], tensor.shape != entry.tensor.shape else { continue }
            throw TrainerError.unusableWeights(flag: flag, path: path, reason: "\(entry.name) has shape \(tensor.shape) "
                + "but the model's is \(entry.tensor.shape)")
        }
        for entry in entries {
            let target = entry.tensor.storage.pointer + entry.tensor.offset
            let half = ReferencePrecision.isHalf(entry.name)
            if let source = selected[entry.name]?.tensor {
                let values = source.floatValues()
                for index in values.indices { target[index] = half ? Float(Float16(values[index])) : values[index] }
            } else if half {
                for index in 0..<entry.tensor.count { target[index] = Float(Float16(target[index])) }
            }
        }
    }

    /// `restore_model`'s CLIP-side rule.
    static func isImageTowerKey(_ key: String) -> Bool { key.hasPrefix("visual") || key == "logit_scale" }

    /// `restore_model`'s BERT-side rule.
    static func isTextTowerKey(_ key: String) -> Bool { key.hasPrefix("bert") && !key.contains("bert.pooler") }

    /// The file's state dict. (A training checkpoint's `module.`-prefixed keys match neither rule, as in the
    /// reference, which would look at its top-level entries.)
    private static func stateDict(flag: String, path: String) throws -> StateDict {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainerError.unusableWeights(flag: flag, path: path, reason: "no such file")
        }
        do {
            return try Checkpoint.load(contentsOf: URL(fileURLWithPath: path)).stateDict
        } catch {
            throw TrainerError.unusableWeights(flag: flag, path: path, reason: "cannot read it: \(error)")
        }
    }
}
