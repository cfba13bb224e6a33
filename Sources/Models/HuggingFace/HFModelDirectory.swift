import Checkpoint
import Foundation
import Imaging
import Tokenizer

/// A Hugging Face transformers `ChineseCLIPModel` directory: `config.json`, the weights (`model.safetensors`,
/// `pytorch_model.bin`, or either sharded with its `.index.json`), `vocab.txt` and `preprocessor_config.json`.
public enum HFModelDirectory {
    /// Weight files looked for, in this order.
    public static let weightFiles = ["model.safetensors", "model.safetensors.index.json",
                                     "pytorch_model.bin", "pytorch_model.bin.index.json"]

    /// True when `url` names a directory (where a checkpoint file was expected, a directory is read as this format).
    public static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The model config of the directory's `config.json`.
    /// - Throws: `ModelError.unreadableConfig` naming the file (also when it is absent).
    public static func config(at directory: URL) throws -> ModelConfig {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.unreadableConfig(path: url.path, reason: "no such file: a Hugging Face model directory "
                                              + "needs config.json")
        }
        return try HFModelConfig.modelConfig(json: data, path: url.path)
    }

    /// Builds the model the directory describes and loads its weights strictly, with its tokenizer (`vocab.txt`,
    /// else the bundled vocabulary when the sizes agree) and image preprocessing (`preprocessor_config.json`,
    /// else the reference's transform).
    /// - Throws: `ModelError` naming the file, and for a weight both its transformers and its own name.
    public static func load(_ directory: URL, precision: WeightPrecision = .exact) throws -> LoadedCLIP {
        let config = try config(at: directory)
        let model = try CLIPModel(config: config)
        let (stateDict, _) = try stateDict(at: directory, config: config)
        try model.load(stateDict, precision: precision)
        return LoadedCLIP(model: model, preprocessor: try preprocessor(at: directory, config: config),
                          tokenizer: try tokenizer(at: directory, config: config), epoch: nil, step: nil)
    }

    /// The directory's weights under this project's (the reference's, unprefixed) names, and the file they came from
    /// (the index for sharded weights).
    /// - Throws: `ModelError.incompatibleCheckpoint` naming the file and, for each missing, mis-shaped or unknown
    ///   tensor, its transformers name and ours.
    public static func stateDict(at directory: URL, config: ModelConfig) throws -> (StateDict, source: String) {
        let (tensors, source) = try readWeights(directory)
        let specs = try CLIPModel(config: config).stateEntries().map { ($0.name, $0.tensor.shape) }
        var result: [(String, StoredTensor)] = []
        var problems: [String] = []
        var used = Set<String>()
        for (name, shape) in specs {
            guard let mapping = HFKeyMap.mapping(for: name) else {
                throw ModelError.incompatibleCheckpoint(path: source, reason: HFModelConfig.resnetRefusal)
            }
            var parts: [StoredTensor] = []
            for (theirs, expected) in zip(mapping.theirs, HFKeyMap.theirShapes(for: shape, mapping: mapping)) {
                used.insert(theirs)
                guard let (file, tensor) = tensors[theirs] else {
                    problems.append("missing \(theirs) (this model's \(name))")
                    continue
                }
                guard tensor.shape == expected else {
                    problems.append("\(file): \(theirs) has size \(tensor.shape), expected \(expected) "
                                    + "(this model's \(name) of size \(shape))")
                    continue
                }
                parts.append(tensor)
            }
            if parts.count == mapping.theirs.count {
                result.append((name, try HFKeyMap.ours(from: parts, relation: mapping.relation, ours: name)))
            }
        }
        let unexpected = tensors.keys.filter { !used.contains($0) && !HFKeyMap.isIgnoredHFKey($0) }.sorted()
        problems += unexpected.prefix(20).map { "\(tensors[$0]?.file ?? source): unexpected tensor \($0)" }
        guard problems.isEmpty else {
            throw ModelError.incompatibleCheckpoint(path: source, reason: problems.prefix(20).joined(separator: "; "))
        }
        return (StateDict(result), source)
    }

    /// The directory's weight file (for sharded weights, the index) in `weightFiles` order: what identifies the
    /// weights, e.g. for hashing.
    /// - Throws: `ModelError.incompatibleCheckpoint` naming the directory when none is present.
    public static func weightsFile(in directory: URL) throws -> URL {
        let fileManager = FileManager.default
        guard let name = weightFiles.first(where: { fileManager.fileExists(atPath: directory.appendingPathComponent($0).path) })
        else {
            throw ModelError.incompatibleCheckpoint(path: directory.path, reason: "no weights: none of "
                                                    + weightFiles.joined(separator: ", ") + " is present")
        }
        return directory.appendingPathComponent(name)
    }

    /// Every tensor of the directory's weight files by transformers name, with the file it came from.
    static func readWeights(_ directory: URL) throws -> ([String: (file: String, tensor: StoredTensor)], source: String) {
        let fileManager = FileManager.default
        let url = try weightsFile(in: directory)
        let name = url.lastPathComponent
        guard name.hasSuffix(".index.json") else {
            let file = try Checkpoint.load(contentsOf: url)
            return (Dictionary(file.stateDict.entries.map { ($0.key, (url.path, $0.tensor)) }) { first, _ in first }, url.path)
        }
        let shards = try shardMap(url)
        var result: [String: (file: String, tensor: StoredTensor)] = [:]
        for shard in Set(shards.values).sorted() {
            let shardURL = directory.appendingPathComponent(shard)
            guard fileManager.fileExists(atPath: shardURL.path) else {
                throw ModelError.incompatibleCheckpoint(path: url.path, reason: "the index names shard \(shard), "
                                                        + "which is not in \(directory.path)")
            }
            let stateDict = try Checkpoint.load(contentsOf: shardURL).stateDict
            for (key, file) in shards where file == shard {
                guard let tensor = stateDict[key] else {
                    throw ModelError.incompatibleCheckpoint(path: shardURL.path, reason: "the index \(name) places \(key) "
                                                            + "in this shard, which does not hold it")
                }
                result[key] = (shardURL.path, tensor)
            }
        }
        return (result, url.path)
    }

    /// The `weight_map` of a shard index: tensor name → shard file name (a plain name inside the directory).
    private static func shardMap(_ url: URL) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: url.path),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = root["weight_map"] as? [String: String] else {
            throw ModelError.incompatibleCheckpoint(path: url.path, reason: "not a shard index (a JSON object with a "
                                                    + "\"weight_map\" of tensor names to file names)")
        }
        if let bad = map.values.first(where: { $0.contains("/") || $0.hasPrefix(".") }) {
            throw ModelError.incompatibleCheckpoint(path: url.path, reason: "shard name \(bad) is not a plain file name")
        }
        return map
    }

    /// The tokenizer of the directory's `vocab.txt`, else the bundled one when its size is the config's.
    public static func tokenizer(at directory: URL, config: ModelConfig) throws -> Tokenizer {
        let url = directory.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: url.path) else {
            let bundled = try Tokenizer.bundled()
            guard bundled.vocabulary.count == config.vocabSize else {
                throw ModelError.unreadableConfig(path: url.path, reason: "no such file, and the bundled vocabulary's "
                                                  + "\(bundled.vocabulary.count) tokens are not the config's vocab_size \(config.vocabSize)")
            }
            return bundled
        }
        return try Tokenizer(vocabulary: Vocabulary(contentsOf: url), source: url.path)
    }

    /// The directory's image preprocessing: `preprocessor_config.json`'s steps, else the reference's transform.
    public static func preprocessor(at directory: URL, config: ModelConfig) throws -> ImagePreprocessor {
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            return ImagePreprocessor(resolution: config.imageResolution)
        }
        let settings = try HFPreprocessorConfig.settings(json: data, path: url.path)
        let side = config.imageResolution
        guard let size = settings.outputSize, size.width == side, size.height == side else {
            let made = settings.outputSize.map { "\($0.height)×\($0.width)" } ?? "sizes that vary with the image"
            throw ModelError.unreadableConfig(path: url.path, reason: "its steps make \(made), but the model takes \(side)×\(side)")
        }
        return try ImagePreprocessor(settings: settings, resolution: side)
    }
}
