import Checkpoint
import Foundation
import Imaging
import Layers
import Tensor
import Tokenizer

/// How the weights of a checkpoint reach the model, as the reference's entry points differ (REFERENCE §2.4).
public enum WeightPrecision: Sendable {
    /// The file's values as they are (the evaluation scripts, zero-shot, training resume).
    case exact
    /// The quick-start `load_from_name` path: tensors the reference converts to fp16 are rounded to fp16 before
    /// the fp32 forward pass, even on a CPU.
    case roundedToHalf
}

/// A model together with the preprocessing and tokenizer that go with it.
public struct LoadedCLIP: Sendable {
    public let model: CLIPModel
    public let preprocessor: ImagePreprocessor
    public let tokenizer: Tokenizer
    /// The checkpoint's `epoch` and `step` entries, where it has them.
    public let epoch: Int?
    public let step: Int?

    public init(model: CLIPModel, preprocessor: ImagePreprocessor, tokenizer: Tokenizer, epoch: Int?, step: Int?) {
        self.model = model
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.epoch = epoch
        self.step = step
    }
}

extension CLIPModel {
    /// Builds the model for `config` and loads `checkpoint` (`.pt` or `.safetensors`) strictly, as the reference's
    /// `create_model` does (a leading `module.` is stripped when the first key has it; `bert.pooler.*` is dropped).
    /// When `checkpoint` is a directory it is read as a Hugging Face ChineseCLIP model (`HFModelDirectory`): its
    /// `config.json` decides the architecture (`config` is not used), and its `vocab.txt` and
    /// `preprocessor_config.json` the tokenizer and preprocessing.
    /// - Throws: `CheckpointError` naming the file, or every missing, unexpected and mis-shaped key.
    public static func load(config: ModelConfig, checkpoint url: URL,
                            precision: WeightPrecision = .exact) throws -> LoadedCLIP {
        if HFModelDirectory.isDirectory(url) { return try HFModelDirectory.load(url, precision: precision) }
        let file = try Checkpoint.load(contentsOf: url)
        let model = try CLIPModel(config: config)
        do {
            try model.load(file.stateDict, precision: precision)
        } catch let error as CheckpointError {
            throw ModelError.incompatibleCheckpoint(path: url.path, reason: "\(error)")
        }
        return LoadedCLIP(model: model, preprocessor: ImagePreprocessor(resolution: config.imageResolution),
                          tokenizer: try Tokenizer.bundled(), epoch: file.epoch, step: file.step)
    }

    /// Copies a state dict's tensors into this model's tensors, strictly (see `StrictLoading`). Each tensor is
    /// decoded straight into its parameter, and the pages of a memory-mapped file it came from are released once
    /// copied, so loading holds the model plus about one tensor, not the model twice over.
    /// `providedElsewhere` names (in the model's spelling) tensors the state dict leaves out on purpose (an int8
    /// checkpoint's Linear weights, which `use(precision:)` installs as they are): they are neither expected nor read.
    public func load(_ stateDict: StateDict, rule: KeyRule = .createModel, precision: WeightPrecision = .exact,
                     providedElsewhere: Set<String> = []) throws {
        let entries = stateEntries().filter { !providedElsewhere.contains($0.name) }
        let matched = try StrictLoading.match(entries.map { ParameterSpec(name: $0.name, shape: $0.tensor.shape) },
                                              from: stateDict, rule: rule)
        for entry in entries {
            guard let source = matched[entry.name] else { continue }
            let target = entry.tensor
            guard target.isContiguous, target.count == source.count else {
                throw TensorError.invalidShape(op: "load \(entry.name)", shape: target.shape,
                                               reason: "needs a contiguous tensor of \(source.count) elements")
            }
            let destination = target.storage.pointer + target.offset
            source.decode(into: destination)
            if precision == .roundedToHalf, ReferencePrecision.isHalf(entry.name) {
                for index in 0..<target.count { destination[index] = Float(Float16(destination[index])) }
            }
            source.discardMappedPages()
        }
    }
}
