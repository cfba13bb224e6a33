import Foundation

/// transformers' `ChineseCLIPConfig` (`config.json` of a Hugging Face model directory) translated to and from
/// `ModelConfig`. Keys a file leaves out take transformers' class defaults, as `from_pretrained` does; values the
/// towers here cannot compute (another activation, layer-norm epsilon, MLP ratio) are refused, naming the key.
public enum HFModelConfig {
    /// The `model_type` a ChineseCLIP `config.json` carries.
    public static let modelType = "chinese_clip"

    /// transformers' `ChineseCLIPTextConfig` defaults for keys a file omits.
    nonisolated(unsafe) static let textDefaults: [String: Any] = [
        "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
    ]
    /// transformers' `ChineseCLIPVisionConfig` defaults for keys a file omits.
    nonisolated(unsafe) static let visionDefaults: [String: Any] = [
        "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
        "num_channels": 3, "image_size": 224, "patch_size": 32, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
    ]

    /// The model config a `config.json` describes; `path` names the file in errors.
    /// - Throws: `ModelError.unreadableConfig` naming the file and key.
    public static func modelConfig(json data: Data, path: String) throws -> ModelConfig {
        func fail(_ reason: String) -> ModelError { .unreadableConfig(path: path, reason: reason) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let type = root["model_type"] as? String else { throw fail("no \"model_type\" (expected \"\(modelType)\")") }
        guard type == modelType else {
            throw fail("model_type \"\(type)\" is not \"\(modelType)\" (only Chinese-CLIP models can be read)")
        }
        let text = try section(root, "text_config", defaults: textDefaults, path: path)
        let vision = try section(root, "vision_config", defaults: visionDefaults, path: path)

        try require(text, "hidden_act", equal: "gelu", path: path, why: "the text tower computes erf-GELU only")
        try require(text, "position_embedding_type", equal: "absolute", path: path, why: "the text tower has absolute positions only")
        try require(text, "layer_norm_eps", close: 1e-12, path: path, why: "the text tower's LayerNorms use 1e-12")
        try require(vision, "hidden_act", equal: "quick_gelu", path: path, why: "the vision tower computes QuickGELU only")
        try require(vision, "layer_norm_eps", close: 1e-5, path: path, why: "the vision tower's LayerNorms use 1e-5")
        let width = try vision.int("hidden_size"), heads = try vision.int("num_attention_heads")
        guard try vision.int("intermediate_size") == 4 * width else {
            throw fail("vision_config.intermediate_size \(try vision.int("intermediate_size")) is not 4 × hidden_size "
                       + "\(width): the vision tower's MLP is 4 × wide")
        }
        guard try vision.int("num_channels") == 3 else { throw fail("vision_config.num_channels must be 3 (RGB)") }
        guard heads > 0, width % heads == 0 else {
            throw fail("vision_config.num_attention_heads \(heads) does not divide hidden_size \(width)")
        }
        let merged: [String: Any] = [
            "embed_dim": try root.int("projection_dim", default: 512, path: path),
            "image_resolution": try vision.int("image_size"),
            "vision_layers": try vision.int("num_hidden_layers"),
            "vision_width": width,
            "vision_patch_size": try vision.int("patch_size"),
            "vision_head_width": width / heads,
            "vocab_size": try text.int("vocab_size"),
            "text_attention_probs_dropout_prob": try text.double("attention_probs_dropout_prob"),
            "text_hidden_act": "gelu",
            "text_hidden_dropout_prob": try text.double("hidden_dropout_prob"),
            "text_hidden_size": try text.int("hidden_size"),
            "text_initializer_range": try text.double("initializer_range"),
            "text_intermediate_size": try text.int("intermediate_size"),
            "text_max_position_embeddings": try text.int("max_position_embeddings"),
            "text_num_attention_heads": try text.int("num_attention_heads"),
            "text_num_hidden_layers": try text.int("num_hidden_layers"),
            "text_type_vocab_size": try text.int("type_vocab_size"),
        ]
        let config = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        do { try config.validate() } catch let ModelError.invalidConfig(key, reason) {
            throw fail("translated key \(key): \(reason)")
        }
        return config
    }

    /// The `config.json` object transformers writes for `config` (a ViT model; a ModifiedResNet has no
    /// transformers equivalent).
    /// - Throws: `ModelError.invalidConfig` for a ModifiedResNet config.
    public static func json(for config: ModelConfig) throws -> [String: Any] {
        guard case let .transformer(layers) = config.vision, let patch = config.visionPatchSize else {
            throw ModelError.invalidConfig(key: "vision_layers", reason: Self.resnetRefusal)
        }
        let text: [String: Any] = [
            "model_type": "chinese_clip_text_model", "vocab_size": config.vocabSize, "hidden_size": config.textHiddenSize,
            "num_hidden_layers": config.textNumHiddenLayers, "num_attention_heads": config.textNumAttentionHeads,
            "intermediate_size": config.textIntermediateSize, "hidden_act": "gelu",
            "hidden_dropout_prob": config.textHiddenDropoutProb,
            "attention_probs_dropout_prob": config.textAttentionProbsDropoutProb,
            "max_position_embeddings": config.textMaxPositionEmbeddings, "type_vocab_size": config.textTypeVocabSize,
            "initializer_range": config.textInitializerRange, "initializer_factor": 1.0, "layer_norm_eps": 1e-12,
            "pad_token_id": 0, "position_embedding_type": "absolute", "use_cache": true,
        ]
        let vision: [String: Any] = [
            "model_type": "chinese_clip_vision_model", "hidden_size": config.visionWidth,
            "intermediate_size": 4 * config.visionWidth, "projection_dim": config.embedDim,
            "num_hidden_layers": layers, "num_attention_heads": config.visionHeads, "num_channels": 3,
            "image_size": config.imageResolution, "patch_size": patch, "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5, "attention_dropout": 0.0, "initializer_range": 0.02, "initializer_factor": 1.0,
        ]
        return [
            "architectures": ["ChineseCLIPModel"], "model_type": modelType, "projection_dim": config.embedDim,
            "logit_scale_init_value": 2.6592, "initializer_factor": 1.0, "torch_dtype": "float32",
            "text_config": text, "vision_config": vision,
        ]
    }

    /// Why a ModifiedResNet model cannot be written or read in this format.
    public static let resnetRefusal = "the RN50 (ModifiedResNet) vision tower has no transformers ChineseCLIP "
        + "equivalent (ChineseCLIPVisionModel is a ViT only)"

    /// `root[name]` (or the legacy `<name>_dict`) with `defaults` under the keys it lacks.
    private static func section(_ root: [String: Any], _ name: String, defaults: [String: Any],
                                path: String) throws -> Section {
        let value = root[name] ?? root["\(name)_dict"] ?? [String: Any]()
        guard let object = value as? [String: Any] else {
            throw ModelError.unreadableConfig(path: path, reason: "\"\(name)\" is not a JSON object")
        }
        return Section(name: name, path: path, values: defaults.merging(object) { _, file in file })
    }

    private static func require(_ section: Section, _ key: String, equal expected: String, path: String, why: String) throws {
        let value = section.values[key]
        guard let text = value as? String, text == expected else {
            throw ModelError.unreadableConfig(path: path, reason: "\(section.name).\(key) is \(value.map { "\($0)" } ?? "null"), "
                                              + "not \"\(expected)\": \(why)")
        }
    }

    private static func require(_ section: Section, _ key: String, close expected: Double, path: String, why: String) throws {
        let value = try section.double(key)
        guard abs(value - expected) <= expected * 1e-6 else {
            throw ModelError.unreadableConfig(path: path, reason: "\(section.name).\(key) is \(value), not \(expected): \(why)")
        }
    }

    /// One sub-config with its name and file for errors.
    struct Section {
        let name: String
        let path: String
        let values: [String: Any]

        func int(_ key: String) throws -> Int {
            guard let number = values[key] as? NSNumber, let value = Int(exactly: number.doubleValue) else {
                throw ModelError.unreadableConfig(path: path, reason: "\(name).\(key) is not an integer")
            }
            return value
        }

        func double(_ key: String) throws -> Double {
            guard let number = values[key] as? NSNumber else {
                throw ModelError.unreadableConfig(path: path, reason: "\(name).\(key) is not a number")
            }
            return number.doubleValue
        }
    }
}

private extension Dictionary where Key == String, Value == Any {
    func int(_ key: String, default fallback: Int, path: String) throws -> Int {
        guard let value = self[key] else { return fallback }
        guard let number = value as? NSNumber, let result = Int(exactly: number.doubleValue) else {
            throw ModelError.unreadableConfig(path: path, reason: "\(key) is not an integer")
        }
        return result
    }
}
