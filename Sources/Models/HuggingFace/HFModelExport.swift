import Checkpoint
import Foundation
import Tokenizer

/// Writing a Hugging Face `ChineseCLIPModel` directory from this project's weights, and the reference's `.pt`
/// from a Hugging Face directory.
extension HFModelDirectory {
    /// Writes `config.json`, `model.safetensors`, `vocab.txt`, `tokenizer_config.json` and
    /// `preprocessor_config.json` into `directory` (created if absent) for a model of `config` holding `stateDict`
    /// (the reference's names, `module.`-prefixed or not; `bert.pooler.*` is dropped, transformers' model has none).
    /// Each file is written atomically and `config.json` last, so an interrupted export is never taken for a model.
    /// Tensors keep their dtype, so the values are bit-identical.
    /// - Throws: `ModelError` for a ModifiedResNet config or a state dict that does not fit `config`, naming the keys.
    public static func write(_ stateDict: StateDict, config: ModelConfig, vocabulary: Vocabulary,
                             to directory: URL) throws {
        let configJSON = try HFModelConfig.json(for: config)
        let ours = StrictLoading.modelKeys(of: stateDict, rule: .createModel)
        var written: [(String, StoredTensor)] = []
        var problems: [String] = []
        var used = Set<String>()
        for entry in try CLIPModel(config: config).stateEntries() {
            guard let mapping = HFKeyMap.mapping(for: entry.name) else {
                throw ModelError.invalidConfig(key: "vision_layers", reason: HFModelConfig.resnetRefusal)
            }
            guard let (fileKey, tensor) = ours[entry.name] else {
                problems.append("missing \(entry.name) (transformers' \(mapping.theirs.joined(separator: ", ")))")
                continue
            }
            used.insert(fileKey)
            guard tensor.shape == entry.tensor.shape else {
                problems.append("\(fileKey) has size \(tensor.shape), the model's \(entry.name) \(entry.tensor.shape) "
                                + "(transformers' \(mapping.theirs.joined(separator: ", ")))")
                continue
            }
            written += zip(mapping.theirs, try HFKeyMap.theirs(from: tensor, mapping: mapping)).map { ($0, $1) }
        }
        problems += stateDict.keys.filter {
            !used.contains($0) && !HFKeyMap.isIgnoredOwnKey($0) && !HFKeyMap.isIgnoredOwnKey(String($0.dropFirst(7)))
        }.prefix(20).map { "unexpected tensor \($0)" }
        guard problems.isEmpty else {
            throw ModelError.incompatibleCheckpoint(path: directory.path, reason: problems.prefix(20).joined(separator: "; "))
        }
        var json = configJSON
        if let dtype = written.first(where: { $0.1.dtype.isFloatingPoint })?.1.dtype {
            json["torch_dtype"] = dtype == .float16 ? "float16" : dtype == .bfloat16 ? "bfloat16" : "float32"
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.unwritableFile(path: directory.path, reason: "cannot create the directory")
        }
        try SafeTensors.write(StateDict(written), metadata: ["format": "pt"],
                              to: directory.appendingPathComponent("model.safetensors"))
        let vocab = vocabulary.tokens.map { $0 + "\n" }.joined()
        try writeAtomically(Data(vocab.utf8), to: directory.appendingPathComponent("vocab.txt"))
        try writeJSON(["tokenizer_class": "BertTokenizer", "do_lower_case": true,
                       "model_max_length": config.textMaxPositionEmbeddings],
                      to: directory.appendingPathComponent("tokenizer_config.json"))
        try writeJSON(HFPreprocessorConfig.json(resolution: config.imageResolution),
                      to: directory.appendingPathComponent("preprocessor_config.json"))
        try writeJSON(json, to: directory.appendingPathComponent("config.json"))
    }

    /// The directory's weights as the reference's training checkpoint: `{epoch: 0, step: 0, name, state_dict}` with
    /// `module.`-prefixed keys, as `load_from_name`, the evaluation scripts and training `--resume` read it.
    public static func referenceCheckpoint(_ directory: URL) throws -> Checkpoint {
        let config = try config(at: directory)
        let (stateDict, _) = try stateDict(at: directory, config: config)
        let prefixed = StateDict(stateDict.entries.map { ("module." + $0.key, $0.tensor) })
        return Checkpoint(layout: .training, stateDict: prefixed, epoch: 0, step: 0,
                          name: directory.standardizedFileURL.lastPathComponent)
    }

    private static func writeJSON(_ object: [String: Any], to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: url)
    }

    private static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw CheckpointError.unwritableFile(path: url.path, reason: error.localizedDescription)
        }
    }
}
