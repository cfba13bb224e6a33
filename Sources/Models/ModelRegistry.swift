import Foundation

/// The reference's model configs (bundled from `cn_clip/clip/model_configs`) and its released pairings.
public enum ModelRegistry {
    /// Vision tower names the reference accepts, in its order.
    public static let visionModels = ["ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-L-14-336", "ViT-H-14", "RN50"]
    /// Text tower names the reference accepts, in its order.
    public static let textModels = ["RoBERTa-wwm-ext-base-chinese", "RoBERTa-wwm-ext-large-chinese", "RBT3-chinese"]

    /// One released pretrained model: its short name, the towers it pairs, input size and checkpoint file name.
    public struct ReleasedModel: Sendable, Equatable {
        public let name: String
        public let visionModel: String
        public let textModel: String
        public let inputResolution: Int
        public let checkpointFileName: String
    }

    /// The released models in the reference's `available_models()` order.
    public static let releasedModels: [ReleasedModel] = [
        ReleasedModel(name: "ViT-B-16", visionModel: "ViT-B-16", textModel: "RoBERTa-wwm-ext-base-chinese",
                      inputResolution: 224, checkpointFileName: "clip_cn_vit-b-16.pt"),
        ReleasedModel(name: "ViT-L-14", visionModel: "ViT-L-14", textModel: "RoBERTa-wwm-ext-base-chinese",
                      inputResolution: 224, checkpointFileName: "clip_cn_vit-l-14.pt"),
        ReleasedModel(name: "ViT-L-14-336", visionModel: "ViT-L-14-336", textModel: "RoBERTa-wwm-ext-base-chinese",
                      inputResolution: 336, checkpointFileName: "clip_cn_vit-l-14-336.pt"),
        ReleasedModel(name: "ViT-H-14", visionModel: "ViT-H-14", textModel: "RoBERTa-wwm-ext-large-chinese",
                      inputResolution: 224, checkpointFileName: "clip_cn_vit-h-14.pt"),
        ReleasedModel(name: "RN50", visionModel: "RN50", textModel: "RBT3-chinese",
                      inputResolution: 224, checkpointFileName: "clip_cn_rn50.pt"),
    ]

    /// The bundled JSON of one tower config, by the reference's file-name rule (`/` becomes `-`).
    public static func towerConfigURL(_ name: String) throws -> URL {
        let fileName = name.replacingOccurrences(of: "/", with: "-")
        let known = visionModels + textModels
        guard known.contains(fileName),
              let url = Bundle.module.url(forResource: fileName, withExtension: "json", subdirectory: "model_configs") else {
            throw ModelError.unknownModel(name: name, known: known)
        }
        return url
    }

    /// The merged config of `vision@text`: the vision JSON with every key of the text JSON copied over it.
    public static func config(vision: String, text: String) throws -> ModelConfig {
        guard visionModels.contains(vision.replacingOccurrences(of: "/", with: "-")) else {
            throw ModelError.unknownModel(name: vision, known: visionModels)
        }
        guard textModels.contains(text.replacingOccurrences(of: "/", with: "-")) else {
            throw ModelError.unknownModel(name: text, known: textModels)
        }
        var merged = try jsonObject(at: towerConfigURL(vision))
        for (key, value) in try jsonObject(at: towerConfigURL(text)) { merged[key] = value }
        let data = try JSONSerialization.data(withJSONObject: merged)
        return try decodeConfig(data, source: "\(vision)@\(text)")
    }

    /// A user's merged config file (`--model-config PATH`), validated.
    public static func config(contentsOf url: URL) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.unreadableConfig(path: url.path, reason: "cannot read the file")
        }
        return try decodeConfig(data, source: url.path)
    }

    private static func decodeConfig(_ data: Data, source: String) throws -> ModelConfig {
        let config: ModelConfig
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelError.unreadableConfig(path: source, reason: "missing key \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ModelError.unreadableConfig(path: source, reason: "key \"\(key)\": \(context.debugDescription)")
        } catch {
            throw ModelError.unreadableConfig(path: source, reason: "not a JSON object of the reference's config format")
        }
        try config.validate()
        return config
    }

    private static func jsonObject(at url: URL) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw ModelError.unreadableConfig(path: url.path, reason: "not a JSON object")
        }
        return object
    }
}
