import Foundation
import Layers
import Tensor

/// The CLIP model's training-mode forward pass (normalised features and the logit scale, as the reference's
/// `CLIP.forward(image, text)` returns them) and its backward pass into a `GradientStore`.
extension CLIPModel {
    /// The vision tower's part of a training cache; nil when the tower is frozen (run in inference mode).
    public enum VisionCache: Sendable {
        case transformer(VisionTransformer.Cache)
        case resnet(ModifiedResNet.Cache)
    }

    /// What `backward` needs from `forwardTraining`.
    public struct TrainingCache: Sendable {
        let vision: VisionCache?
        let text: BertTextEncoder.Cache
        let imageFeatures: Tensor, imageNorms: Tensor
        let textFeatures: Tensor, textNorms: Tensor
        let textPooled: Tensor
        let textLength: Int
        let logitScale: Float
    }

    /// The parameters of the vision tower (what `--freeze-vision` excludes from training).
    public var visionParameters: [Tensor] {
        visual.stateEntries(prefix: "visual").filter { $0.kind == .parameter }.map(\.tensor)
    }

    /// Normalised image features `[N, embed_dim]`, normalised text features `[M, embed_dim]` and exp(logit_scale).
    /// A frozen vision tower runs in inference mode (the reference puts RN50 BatchNorm layers in eval mode, though not
    /// SyncBatchNorm ones: see `TrainingPass.syncBatchNorm`); otherwise BatchNorm uses batch statistics and updates
    /// its running statistics. `keptPatches` (FLIP) masks
    /// a ViT's patch tokens (see `VisionTransformer.forwardTraining`); a ResNet tower ignores it, as the reference does.
    public func forwardTraining(images: Tensor, tokens: [[Int]], pass: TrainingPass, freezeVision: Bool,
                                keptPatches: [[Int]]? = nil) throws
        -> (imageFeatures: Tensor, textFeatures: Tensor, logitScale: Float, cache: TrainingCache) {
        let resolution = config.imageResolution
        guard images.rank == 4, Array(images.shape.dropFirst()) == [3, resolution, resolution] else {
            throw ModelError.invalidInput("images of shape \(images.shape); the model takes [N, 3, \(resolution), \(resolution)]")
        }
        guard let fullLength = tokens.first?.count, tokens.allSatisfy({ $0.count == fullLength }), fullLength > 0 else {
            throw ModelError.invalidInput("token rows must be non-empty and of equal length")
        }
        let length = usedTokenLength(tokens)
        let imageFeatures: Tensor
        var visionCache: VisionCache?
        switch (visual, freezeVision) {
        case let (.resnet(tower), true) where pass.syncBatchNorm != nil:
            // The reference converts BatchNorm2d layers to SyncBatchNorm before freezing, and its freeze puts only
            // BatchNorm2d instances in eval mode: a frozen tower's SyncBatchNorm layers stay in training mode (batch
            // statistics across the ranks, running statistics updated), without gradient.
            imageFeatures = try tower.forwardTraining(images, replicas: pass.syncBatchNorm).output
        case let (.transformer(tower), true) where keptPatches != nil:
            imageFeatures = try tower.forwardTraining(images, pass: pass, keptPatches: keptPatches).output
        case (_, true):
            imageFeatures = try visual(images)
        case let (.transformer(tower), false):
            let (output, cache) = try tower.forwardTraining(images, pass: pass, keptPatches: keptPatches)
            (imageFeatures, visionCache) = (output, .transformer(cache))
        case let (.resnet(tower), false):
            let (output, cache) = try tower.forwardTraining(images, replicas: pass.syncBatchNorm)
            (imageFeatures, visionCache) = (output, .resnet(cache))
        }
        let (hidden, textCache) = try text.forwardTraining(ids: tokens.flatMap { $0.prefix(length) }, batch: tokens.count,
                                                           length: length, pass: pass)
        let pooled = try firstToken(hidden)
        let textFeatures = try matmul(pooled, textProjection)
        let imageNorm = l2Normalize(imageFeatures), textNorm = l2Normalize(textFeatures)
        let scale = logitScaleValue
        let cache = TrainingCache(vision: visionCache, text: textCache, imageFeatures: imageNorm.output,
                                  imageNorms: imageNorm.norms, textFeatures: textNorm.output, textNorms: textNorm.norms,
                                  textPooled: pooled, textLength: length, logitScale: scale)
        return (imageNorm.output, textNorm.output, scale, cache)
    }

    /// Accumulates every trainable parameter's gradient given the gradients of the normalised features and of
    /// exp(logit_scale).
    public func backward(gradImageFeatures: Tensor, gradTextFeatures: Tensor, gradLogitScale: Float,
                         cache: TrainingCache, pass: TrainingPass, into gradients: GradientStore) throws {
        try gradients.accumulate(Tensor(scalar: gradLogitScale * cache.logitScale), for: logitScale)
        let gradText = try l2NormalizeBackward(gradTextFeatures, output: cache.textFeatures, norms: cache.textNorms)
        let (gradPooled, gradProjection) = try matmulBackward(gradText, cache.textPooled, textProjection)
        try gradients.accumulate(gradProjection, for: textProjection)
        try text.backward(firstTokenBackward(gradPooled, length: cache.textLength), cache: cache.text, pass: pass,
                          into: gradients)
        guard let visionCache = cache.vision else { return }
        let gradImage = try l2NormalizeBackward(gradImageFeatures, output: cache.imageFeatures,
                                                norms: cache.imageNorms)
        switch (visual, visionCache) {
        case let (.transformer(tower), .transformer(towerCache)):
            try tower.backward(gradImage, cache: towerCache, into: gradients)
        case let (.resnet(tower), .resnet(towerCache)):
            try tower.backward(gradImage, cache: towerCache, into: gradients)
        default:
            throw ModelError.invalidInput("the training cache belongs to another vision tower")
        }
    }
}
