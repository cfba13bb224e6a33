import Layers
import Models
import Tensor

/// The largest log logit scale the reference allows: ln(100), clamped after every optimizer step.
public let maximumLogitScale: Float = 4.6052

/// What one training step reports.
public struct StepResult: Sendable {
    public let learningRate: Double
    public let loss: Float
    public let imageToTextAccuracy: Float
    public let textToImageAccuracy: Float
}

/// Training-run switches that change the step (the reference's `--grad-checkpointing`, `--freeze-vision`, dropout).
public struct TrainingOptions: Sendable {
    public var gradientCheckpointing: Bool
    public var freezeVision: Bool
    /// Dropout as the config sets it (BERT only) when true; off for parity runs.
    public var dropout: Bool

    public init(gradientCheckpointing: Bool = false, freezeVision: Bool = false, dropout: Bool = true) {
        self.gradientCheckpointing = gradientCheckpointing
        self.freezeVision = freezeVision
        self.dropout = dropout
    }
}

/// One optimizer step of the reference's fp32 training loop (accum-freq 1): learning rate from the schedule,
/// zeroed gradients, forward, contrastive loss, backward, AdamW, logit-scale clamp to [0, 4.6052].
public final class TrainingStep: @unchecked Sendable {
    public let model: CLIPModel
    public let optimizer: AdamW
    public let schedule: CosineSchedule
    public let options: TrainingOptions
    public let gradients = GradientStore()

    /// Builds the optimizer over the model's trainable parameters (all but the vision tower's when frozen).
    public init(model: CLIPModel, schedule: CosineSchedule, beta1: Double, beta2: Double, eps: Double,
                weightDecay: Double, options: TrainingOptions) {
        self.model = model
        self.schedule = schedule
        self.options = options
        if options.freezeVision { gradients.freeze(model.visionParameters) }
        let store = gradients
        optimizer = AdamW(entries: model.stateEntries(), trainable: { store.requiresGradient($0) },
                          learningRate: schedule.baseLearningRate, beta1: beta1, beta2: beta2, eps: eps,
                          weightDecay: weightDecay)
    }

    /// Computes the loss and gradients of a batch without changing any parameter (BatchNorm running statistics
    /// do change, as in any training-mode forward pass).
    public func lossAndGradients(images: Tensor, tokens: [[Int]], dropoutSeed: UInt64 = 0) throws -> ContrastiveLossResult {
        gradients.clear()
        let pass = TrainingPass(dropout: DropoutContext(enabled: options.dropout, seed: dropoutSeed),
                                gradientCheckpointing: options.gradientCheckpointing)
        let forward = try model.forwardTraining(images: images, tokens: tokens, pass: pass, freezeVision: options.freezeVision)
        let loss = try ContrastiveLoss.compute(imageFeatures: forward.imageFeatures, textFeatures: forward.textFeatures,
                                               logitScale: forward.logitScale)
        try model.backward(gradImageFeatures: loss.gradImageFeatures, gradTextFeatures: loss.gradTextFeatures,
                           gradLogitScale: loss.gradLogitScale, cache: forward.cache, pass: pass, into: gradients)
        return loss
    }

    /// Runs optimizer step `step` (0-based global step) on one batch.
    public func run(step: Int, images: Tensor, tokens: [[Int]], dropoutSeed: UInt64 = 0) throws -> StepResult {
        let learningRate = schedule.learningRate(step: step)
        let loss = try lossAndGradients(images: images, tokens: tokens, dropoutSeed: dropoutSeed)
        optimizer.step(gradients: gradients, learningRate: learningRate)
        clampLogitScale()
        return StepResult(learningRate: learningRate, loss: loss.loss, imageToTextAccuracy: loss.imageToTextAccuracy,
                          textToImageAccuracy: loss.textToImageAccuracy)
    }

    /// logit_scale ← clamp(logit_scale, 0, 4.6052).
    public func clampLogitScale() {
        let value = model.logitScale.storage.pointer + model.logitScale.offset
        value.pointee = min(max(value.pointee, 0), maximumLogitScale)
    }
}
