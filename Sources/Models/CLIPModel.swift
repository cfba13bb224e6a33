import Foundation
import Layers
import Tensor

/// The vision tower a config selects.
public enum VisionTower: Sendable {
    case transformer(VisionTransformer)
    case resnet(ModifiedResNet)

    /// Unnormalised image features `[N, embed_dim]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        switch self {
        case let .transformer(tower): return try tower(images)
        case let .resnet(tower): return try tower(images)
        }
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        switch self {
        case let .transformer(tower): return tower.stateEntries(prefix: prefix)
        case let .resnet(tower): return tower.stateEntries(prefix: prefix)
        }
    }
}

/// Chinese-CLIP: a vision tower and a BERT text tower projected into one embedding space.
public struct CLIPModel: StatefulModule, Sendable {
    public let config: ModelConfig
    public let visual: VisionTower
    public let text: BertTextEncoder
    /// `[text hidden, embed_dim]`, no bias.
    public let textProjection: Tensor
    /// The log of the logit scale (a 0-dimensional tensor).
    public let logitScale: Tensor

    /// A model with zeroed weights (LayerNorm/BatchNorm at their identity values), ready for `load`.
    /// - Throws: `ModelError.invalidConfig` naming the key of an inconsistent config.
    public init(config: ModelConfig) throws {
        try config.validate()
        self.config = config
        switch config.vision {
        case let .transformer(layers):
            visual = .transformer(VisionTransformer(
                resolution: config.imageResolution, patchSize: config.visionPatchSize ?? 1, width: config.visionWidth,
                layers: layers, heads: config.visionHeads, outputDim: config.embedDim))
        case let .resnet(layers):
            visual = .resnet(ModifiedResNet(
                layers: layers, outputDim: config.embedDim, heads: config.visionHeads,
                resolution: config.imageResolution, width: config.visionWidth))
        }
        text = BertTextEncoder(config: config)
        textProjection = Tensor(zeros: [config.textHiddenSize, config.embedDim])
        logitScale = Tensor(scalar: Float(log(1.0 / 0.07)))
    }

    /// Unnormalised image features `[N, embed_dim]` of preprocessed images `[N, 3, R, R]`.
    public func encodeImage(_ images: Tensor) throws -> Tensor {
        let resolution = config.imageResolution
        guard images.rank == 4, Array(images.shape.dropFirst()) == [3, resolution, resolution] else {
            throw ModelError.invalidInput("images of shape \(images.shape); the model takes [N, 3, \(resolution), \(resolution)]")
        }
        return try visual(images)
    }

    /// Unnormalised text features `[N, embed_dim]`: the `[CLS]` hidden state times `text_projection`.
    /// `tokens` are rows of equal length as `tokenize` returns them (0 = padding).
    public func encodeText(_ tokens: [[Int]]) throws -> Tensor {
        guard let length = tokens.first?.count, tokens.allSatisfy({ $0.count == length }), length > 0 else {
            throw ModelError.invalidInput("token rows must be non-empty and of equal length")
        }
        let used = usedTokenLength(tokens)
        let classToken = try text.classTokenHiddenState(ids: tokens.flatMap { $0.prefix(used) }, batch: tokens.count,
                                                        length: used)
        return try matmul(classToken, textProjection)
    }


    /// `(logits_per_image [Ni, Nt], logits_per_text [Nt, Ni])` = exp(logit_scale) · normalised image · normalised textᵀ.
    public func similarity(images: Tensor, tokens: [[Int]]) throws -> (logitsPerImage: Tensor, logitsPerText: Tensor) {
        let imageFeatures = l2Normalize(try encodeImage(images)).output
        let textFeatures = l2Normalize(try encodeText(tokens)).output
        let logits = scale(try matmul(imageFeatures, textFeatures, transposeB: true), by: logitScaleValue)
        return (logits, try logits.transposed(0, 1).contiguous())
    }

    /// exp(logit_scale).
    public var logitScaleValue: Float { Float(exp(Double(logitScale.toArray()[0]))) }

    /// Every tensor in the reference's state-dict order and names (unprefixed).
    public func stateEntries(prefix: String = "") -> [StateEntry] {
        [StateEntry(prefix.dotted("text_projection"), textProjection),
         StateEntry(prefix.dotted("logit_scale"), logitScale)]
            + visual.stateEntries(prefix: prefix.dotted("visual"))
            + text.stateEntries(prefix: prefix.dotted("bert"))
    }
}

/// The columns up to the last one holding a token in any row. Padding keys are masked with −10000, whose softmax
/// weight is exactly 0 in fp32 next to any real key (so padded positions neither change the `[CLS]` feature nor
/// receive gradient), and positions are absolute, so cutting the common trailing padding leaves every feature
/// unchanged; texts are mostly far shorter than the context length. A row of padding alone attends uniformly to
/// all its positions, so then nothing is cut.
func usedTokenLength(_ tokens: [[Int]]) -> Int {
    var used = 0
    for row in tokens {
        guard let last = row.lastIndex(where: { $0 != 0 }) else { return row.count }
        used = max(used, last + 1)
    }
    return used
}
