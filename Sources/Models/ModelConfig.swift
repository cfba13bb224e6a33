import Foundation

/// The merged vision + text configuration of a CLIP model, with the reference's JSON key names
/// (the dict the reference prints as `Model info`).
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Which vision tower the config selects.
    public enum VisionArchitecture: Equatable, Sendable {
        /// VisualTransformer with this many residual blocks.
        case transformer(layers: Int)
        /// ModifiedResNet with these Bottleneck counts per stage.
        case resnet(layers: [Int])
    }

    public var embedDim: Int
    public var imageResolution: Int
    public var vision: VisionArchitecture
    public var visionWidth: Int
    public var visionPatchSize: Int?
    public var visionHeadWidth: Int
    public var vocabSize: Int
    public var textAttentionProbsDropoutProb: Double
    public var textHiddenAct: String
    public var textHiddenDropoutProb: Double
    public var textHiddenSize: Int
    public var textInitializerRange: Double
    public var textIntermediateSize: Int
    public var textMaxPositionEmbeddings: Int
    public var textNumAttentionHeads: Int
    public var textNumHiddenLayers: Int
    public var textTypeVocabSize: Int

    /// Attention heads of the vision tower: width / head width for a ViT, width·32 / head width for the ResNet's attention pool.
    public var visionHeads: Int {
        switch vision {
        case .transformer: return visionWidth / visionHeadWidth
        case .resnet: return visionWidth * 32 / visionHeadWidth
        }
    }

    enum CodingKeys: String, CodingKey {
        case embedDim = "embed_dim"
        case imageResolution = "image_resolution"
        case visionLayers = "vision_layers"
        case visionWidth = "vision_width"
        case visionPatchSize = "vision_patch_size"
        case visionHeadWidth = "vision_head_width"
        case vocabSize = "vocab_size"
        case textAttentionProbsDropoutProb = "text_attention_probs_dropout_prob"
        case textHiddenAct = "text_hidden_act"
        case textHiddenDropoutProb = "text_hidden_dropout_prob"
        case textHiddenSize = "text_hidden_size"
        case textInitializerRange = "text_initializer_range"
        case textIntermediateSize = "text_intermediate_size"
        case textMaxPositionEmbeddings = "text_max_position_embeddings"
        case textNumAttentionHeads = "text_num_attention_heads"
        case textNumHiddenLayers = "text_num_hidden_layers"
        case textTypeVocabSize = "text_type_vocab_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        imageResolution = try c.decode(Int.self, forKey: .imageResolution)
        vision = try ModelConfig.decodeVisionLayers(c)
        visionWidth = try c.decode(Int.self, forKey: .visionWidth)
        visionPatchSize = try c.decodeIfPresent(Int.self, forKey: .visionPatchSize)
        visionHeadWidth = try c.decodeIfPresent(Int.self, forKey: .visionHeadWidth) ?? 64
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        textAttentionProbsDropoutProb = try c.decode(Double.self, forKey: .textAttentionProbsDropoutProb)
        textHiddenAct = try c.decode(String.self, forKey: .textHiddenAct)
        textHiddenDropoutProb = try c.decode(Double.self, forKey: .textHiddenDropoutProb)
        textHiddenSize = try c.decode(Int.self, forKey: .textHiddenSize)
        textInitializerRange = try c.decode(Double.self, forKey: .textInitializerRange)
        textIntermediateSize = try c.decode(Int.self, forKey: .textIntermediateSize)
        textMaxPositionEmbeddings = try c.decode(Int.self, forKey: .textMaxPositionEmbeddings)
        textNumAttentionHeads = try c.decode(Int.self, forKey: .textNumAttentionHeads)
        textNumHiddenLayers = try c.decode(Int.self, forKey: .textNumHiddenLayers)
        textTypeVocabSize = try c.decode(Int.self, forKey: .textTypeVocabSize)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(embedDim, forKey: .embedDim)
        try c.encode(imageResolution, forKey: .imageResolution)
        switch vision {
        case let .transformer(layers): try c.encode(layers, forKey: .visionLayers)
        case let .resnet(layers): try c.encode(layers, forKey: .visionLayers)
        }
        try c.encode(visionWidth, forKey: .visionWidth)
        try c.encode(visionPatchSize, forKey: .visionPatchSize)
        try c.encode(visionHeadWidth, forKey: .visionHeadWidth)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(textAttentionProbsDropoutProb, forKey: .textAttentionProbsDropoutProb)
        try c.encode(textHiddenAct, forKey: .textHiddenAct)
        try c.encode(textHiddenDropoutProb, forKey: .textHiddenDropoutProb)
        try c.encode(textHiddenSize, forKey: .textHiddenSize)
        try c.encode(textInitializerRange, forKey: .textInitializerRange)
        try c.encode(textIntermediateSize, forKey: .textIntermediateSize)
        try c.encode(textMaxPositionEmbeddings, forKey: .textMaxPositionEmbeddings)
        try c.encode(textNumAttentionHeads, forKey: .textNumAttentionHeads)
        try c.encode(textNumHiddenLayers, forKey: .textNumHiddenLayers)
        try c.encode(textTypeVocabSize, forKey: .textTypeVocabSize)
    }

    /// `vision_layers` is an int (ViT), a list, or the string `"[3,4,6,3]"` the reference evaluates to a list (RN50).
    private static func decodeVisionLayers(_ c: KeyedDecodingContainer<CodingKeys>) throws -> VisionArchitecture {
        if let layers = try? c.decode(Int.self, forKey: .visionLayers) { return .transformer(layers: layers) }
        if let layers = try? c.decode([Int].self, forKey: .visionLayers) { return .resnet(layers: layers) }
        let text = try c.decode(String.self, forKey: .visionLayers)
        let inner = text.trimmingCharacters(in: .whitespaces)
        guard inner.hasPrefix("["), inner.hasSuffix("]") else {
            throw DecodingError.dataCorruptedError(forKey: .visionLayers, in: c,
                                                   debugDescription: "expected an int or a list such as \"[3,4,6,3]\", got \"\(text)\"")
        }
        let parts = inner.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let layers = parts.compactMap { Int($0) }
        guard layers.count == parts.count, !layers.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .visionLayers, in: c,
                                                   debugDescription: "\"\(text)\" is not a list of ints")
        }
        return .resnet(layers: layers)
    }

    /// Checks the values the towers need to be consistent; throws `ModelError.invalidConfig` naming the key.
    public func validate() throws {
        func require(_ condition: Bool, _ key: String, _ reason: String) throws {
            if !condition { throw ModelError.invalidConfig(key: key, reason: reason) }
        }
        try require(embedDim > 0, "embed_dim", "must be positive")
        try require(imageResolution > 0, "image_resolution", "must be positive")
        try require(visionWidth > 0, "vision_width", "must be positive")
        try require(visionHeadWidth > 0, "vision_head_width", "must be positive")
        try require(visionHeads > 0, "vision_head_width", "leaves no attention head for width \(visionWidth)")
        switch vision {
        case let .transformer(layers):
            try require(layers > 0, "vision_layers", "must be positive")
            guard let patch = visionPatchSize, patch > 0 else {
                throw ModelError.invalidConfig(key: "vision_patch_size", reason: "a ViT needs a positive patch size")
            }
            try require(imageResolution % patch == 0, "vision_patch_size",
                        "\(patch) does not divide image_resolution \(imageResolution)")
            try require(visionWidth % visionHeadWidth == 0, "vision_head_width",
                        "\(visionHeadWidth) does not divide vision_width \(visionWidth)")
        case let .resnet(layers):
            try require(layers.count == 4 && layers.allSatisfy { $0 > 0 }, "vision_layers", "needs four positive block counts")
            try require(imageResolution % 32 == 0, "image_resolution", "a ModifiedResNet needs a multiple of 32")
            try require(visionWidth % 2 == 0, "vision_width", "must be even")
        }
        try require(textHiddenAct == "gelu", "text_hidden_act", "only \"gelu\" (erf form) is supported, got \"\(textHiddenAct)\"")
        try require(textNumAttentionHeads > 0 && textHiddenSize % textNumAttentionHeads == 0, "text_num_attention_heads",
                    "must divide text_hidden_size \(textHiddenSize)")
        try require(textNumHiddenLayers > 0, "text_num_hidden_layers", "must be positive")
        try require(vocabSize > 0, "vocab_size", "must be positive")
        try require(textMaxPositionEmbeddings > 0, "text_max_position_embeddings", "must be positive")
    }
}
