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

/// Training-run switches that change the step (the reference's `--grad-checkpointing`, `--freeze-vision`,
/// `--mask-ratio`, dropout).
public struct TrainingOptions: Sendable {
    public var gradientCheckpointing: Bool
    public var freezeVision: Bool
    /// Dropout as the config sets it (BERT only) when true; off for parity runs.
    public var dropout: Bool
    /// FLIP patch masking of the gradient-carrying forward passes (ViT only).
    public var masking: PatchMasking?
    /// `--use-bn-sync`: a ResNet tower's BatchNorm layers take their statistics over every rank's batch
    /// (SyncBatchNorm), and stay in training mode when the tower is frozen, as the reference's do.
    public var syncBatchNorm: Bool

    public init(gradientCheckpointing: Bool = false, freezeVision: Bool = false, dropout: Bool = true,
                masking: PatchMasking? = nil, syncBatchNorm: Bool = false) {
        self.gradientCheckpointing = gradientCheckpointing
        self.freezeVision = freezeVision
        self.dropout = dropout
        self.masking = masking
        self.syncBatchNorm = syncBatchNorm
    }
}

/// One optimizer step of the reference's fp32 training loop: learning rate from the schedule, zeroed gradients,
/// forward, contrastive loss, backward, AdamW, logit-scale clamp to [0, 4.6052]. `--accum-freq` steps go through
/// `cacheMicroBatch` and `runAccumulated` (GradientAccumulation.swift).
public final class TrainingStep: @unchecked Sendable {
    public let model: CLIPModel
    public let optimizer: AdamW
    public let schedule: CosineSchedule
    public let options: TrainingOptions
    public let gradients = GradientStore()
    /// The ranks this step spans (a group of one for a plain run).
    public let dataParallel: DataParallel
    /// Micro-batches forwarded without gradient since the last accumulated step.
    var microBatches: [MicroBatch] = []
    /// DDP's bucketed gradient average, overlapped with backward (nil in a group of one).
    private let gradientAverage: OverlappedGradientAverage?
    /// DDP's copy of rank 0's BatchNorm statistics to every rank before forward passes.
    let bufferBroadcast: ModuleBufferBroadcast

    /// Freed buffers kept for the next step: a ViT-B-16 + RoBERTa-base step at batch 8 frees about 2.3 GB of
    /// activations and gradients; with 1 GB cached it ran 8.7 s/step, with 4 GB 7.5 s/step, same peak memory.
    static let bufferCacheMegabytes = 4096

    /// Builds the optimizer over the model's trainable parameters (all but the vision tower's when frozen).
    /// Activation and gradient buffers are recycled between steps by the tensor engine's buffer pool, whose cache
    /// this raises to `bufferCacheMegabytes`.
    public init(model: CLIPModel, schedule: CosineSchedule, beta1: Double, beta2: Double, eps: Double,
                weightDecay: Double, options: TrainingOptions, dataParallel: DataParallel = .singleProcess) {
        BufferPool.raiseCacheLimit(toMegabytes: Self.bufferCacheMegabytes)
        self.model = model
        self.dataParallel = dataParallel
        self.schedule = schedule
        self.options = options
        bufferBroadcast = ModuleBufferBroadcast(group: dataParallel.group, model: model)
        if options.freezeVision { gradients.freeze(model.visionParameters) }
        let store = gradients
        optimizer = AdamW(entries: model.stateEntries(), trainable: { store.requiresGradient($0) },
                          learningRate: schedule.baseLearningRate, beta1: beta1, beta2: beta2, eps: eps,
                          weightDecay: weightDecay)
        if dataParallel.group.isDistributed {
            let average = OverlappedGradientAverage(group: dataParallel.group, gradients: gradients,
                                                    parameters: optimizer.parameters.map(\.tensor),
                                                    bucketBytes: dataParallel.bucketBytes,
                                                    firstBucketBytes: dataParallel.firstBucketBytes)
            gradients.observer = average
            gradientAverage = average
        } else {
            gradientAverage = nil
        }
    }

    /// Computes the loss and gradients of a batch without changing any parameter (BatchNorm running statistics
    /// do change, as in any training-mode forward pass). `keptPatches` replaces the patches FLIP masking would draw
    /// from `dropoutSeed` (for comparisons with recorded reference draws).
    public func lossAndGradients(images: Tensor, tokens: [[Int]], dropoutSeed: UInt64 = 0,
                                 keptPatches: [[Int]]? = nil) throws -> ContrastiveLossResult {
        startGradients()
        let pass = trainingPass(seed: dropoutSeed)
        let forward = try bufferBroadcast.forwardPass(withGradient: true) {
            try model.forwardTraining(images: images, tokens: tokens, pass: pass, freezeVision: options.freezeVision,
                                      keptPatches: keptPatches ?? maskedPatches(images: images, seed: dropoutSeed))
        }
        let loss = try dataParallel.loss(imageFeatures: forward.imageFeatures, textFeatures: forward.textFeatures,
                                         logitScale: forward.logitScale)
        try model.backward(gradImageFeatures: loss.gradImageFeatures, gradTextFeatures: loss.gradTextFeatures,
                           gradLogitScale: loss.gradLogitScale, cache: forward.cache, pass: pass, into: gradients)
        try averageGradients()
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

    /// The training pass of one forward: dropout from `seed`, checkpointing and SyncBatchNorm as the options say.
    func trainingPass(seed: UInt64) -> TrainingPass {
        TrainingPass(dropout: DropoutContext(enabled: options.dropout, seed: seed),
                     gradientCheckpointing: options.gradientCheckpointing,
                     syncBatchNorm: options.syncBatchNorm ? dataParallel.batchNormReplicas : nil)
    }

    /// The FLIP patches kept for a gradient-carrying forward of `images` (nil without masking or for a ResNet).
    func maskedPatches(images: Tensor, seed: UInt64) -> [[Int]]? {
        options.masking?.keptPatches(for: model, images: images.shape[0], seed: Dropout.mix(seed ^ 0x464C_4950))
    }

    /// Gradient buckets all-reduced across the ranks so far, and how many of them started during backward
    /// (overlapped with it); zeros in a group of one.
    public var gradientBuckets: (reduced: Int, overlapped: Int) {
        (gradientAverage?.bucketsReduced ?? 0, gradientAverage?.bucketsOverlapped ?? 0)
    }

    /// Zeroes the gradients before a step's first backward.
    func startGradients() {
        gradients.clear()
        gradientAverage?.begin()
    }

    /// DDP's average of the gradients over the ranks, finishing what backward started (nothing in a group of one).
    func averageGradients() throws {
        try gradientAverage?.finish()
    }

    /// logit_scale ← clamp(logit_scale, 0, 4.6052).
    public func clampLogitScale() {
        let value = model.logitScale.storage.pointer + model.logitScale.offset
        value.pointee = min(max(value.pointee, 0), maximumLogitScale)
    }
}
