import Layers
import Tensor

/// Training-mode forward and backward of the RN50 tower: BatchNorm with batch statistics (running statistics
/// updated), average pools, and the attention pool. (The reference's grad checkpointing is a no-op here.)
extension ModifiedResNet {
    /// What the backward pass needs from `forwardTraining`.
    public struct Cache: Sendable {
        let stem: [ConvNormCache]
        let stemOutputShape: [Int]
        let blocks: [[Bottleneck.Cache]]
        let attentionPool: AttentionPool2d.Cache
    }

    /// Image features `[N, embed_dim]` with the cache for `backward`. With `replicas` every BatchNorm layer takes
    /// its batch statistics over every process's images (the reference's `--use-bn-sync`, `nn.SyncBatchNorm`).
    public func forwardTraining(_ images: Tensor,
                                replicas: (any ReplicaSum)? = nil) throws -> (output: Tensor, cache: Cache) {
        var x = images
        var stemCaches: [ConvNormCache] = []
        for (conv, norm) in stem {
            let (output, cache) = try ConvNormCache.forward(x, conv: conv, norm: norm, activate: true, replicas: replicas)
            x = output
            stemCaches.append(cache)
        }
        let stemOutputShape = x.shape
        x = try avgPool2d(x, kernelSize: 2)
        var blockCaches: [[Bottleneck.Cache]] = []
        for stage in stages {
            var stageCaches: [Bottleneck.Cache] = []
            for block in stage {
                let (output, cache) = try block.forwardTraining(x, replicas: replicas)
                x = output
                stageCaches.append(cache)
            }
            blockCaches.append(stageCaches)
        }
        let (features, poolCache) = try attentionPool.forwardTraining(x)
        return (features, Cache(stem: stemCaches, stemOutputShape: stemOutputShape, blocks: blockCaches,
                                attentionPool: poolCache))
    }

    /// Accumulates the gradient of every ResNet parameter, given d(features).
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws {
        var grad = try attentionPool.backward(gradOutput, cache: cache.attentionPool, into: gradients)
        for (stage, caches) in zip(stages, cache.blocks).reversed() {
            for (block, blockCache) in zip(stage, caches).reversed() {
                grad = try block.backward(grad, cache: blockCache, into: gradients)
            }
        }
        grad = try avgPool2dBackward(grad, inputShape: cache.stemOutputShape, kernelSize: 2)
        for ((conv, norm), layerCache) in zip(stem, cache.stem).reversed() {
            grad = try layerCache.backward(grad, conv: conv, norm: norm, into: gradients)
        }
    }
}

/// Convolution → BatchNorm (training mode) → optional ReLU, with what its backward needs.
public struct ConvNormCache: Sendable {
    let input: Tensor
    let norm: BatchNorm2d.Cache
    /// The BatchNorm output (the ReLU input), when a ReLU followed.
    let activationInput: Tensor?

    static func forward(_ x: Tensor, conv: Conv2d, norm: BatchNorm2d, activate: Bool,
                        replicas: (any ReplicaSum)?) throws -> (Tensor, ConvNormCache) {
        let (normalized, normCache) = try norm.forwardTraining(conv(x), training: true, replicas: replicas)
        let output = activate ? relu(normalized) : normalized
        return (output, ConvNormCache(input: x, norm: normCache, activationInput: activate ? normalized : nil))
    }

    func backward(_ gradOutput: Tensor, conv: Conv2d, norm: BatchNorm2d, into gradients: GradientStore) throws -> Tensor {
        var grad = gradOutput
        if let activationInput { grad = try reluBackward(grad, input: activationInput) }
        grad = try norm.backward(grad, cache: self.norm, into: gradients)
        return try conv.backward(grad, input: input, into: gradients)
    }
}

extension Bottleneck {
    /// What the block's backward needs.
    public struct Cache: Sendable {
        let layers: [ConvNormCache]
        let pooledShape: [Int]
        let downsample: ConvNormCache?
        let inputShape: [Int]
        let sum: Tensor
    }

    /// The block's forward pass with BatchNorm in training mode (statistics across `replicas` when given).
    public func forwardTraining(_ x: Tensor, replicas: (any ReplicaSum)? = nil) throws -> (output: Tensor, cache: Cache) {
        let (out1, cache1) = try ConvNormCache.forward(x, conv: conv1, norm: bn1, activate: true, replicas: replicas)
        var (out, cache2) = try ConvNormCache.forward(out1, conv: conv2, norm: bn2, activate: true, replicas: replicas)
        let pooledShape = out.shape
        if stride > 1 { out = try avgPool2d(out, kernelSize: stride) }
        let (out3, cache3) = try ConvNormCache.forward(out, conv: conv3, norm: bn3, activate: false, replicas: replicas)
        var identity = x
        var downsampleCache: ConvNormCache?
        if let downsample {
            if stride > 1 { identity = try avgPool2d(identity, kernelSize: stride) }
            (identity, downsampleCache) = try ConvNormCache.forward(identity, conv: downsample.conv, norm: downsample.norm,
                                                                    activate: false, replicas: replicas)
        }
        let sum = try add(out3, identity)
        return (relu(sum), Cache(layers: [cache1, cache2, cache3], pooledShape: pooledShape,
                                 downsample: downsampleCache, inputShape: x.shape, sum: sum))
    }

    /// Accumulates the block's parameter gradients and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let gradSum = try reluBackward(gradOutput, input: cache.sum)
        var grad = try cache.layers[2].backward(gradSum, conv: conv3, norm: bn3, into: gradients)
        if stride > 1 { grad = try avgPool2dBackward(grad, inputShape: cache.pooledShape, kernelSize: stride) }
        grad = try cache.layers[1].backward(grad, conv: conv2, norm: bn2, into: gradients)
        grad = try cache.layers[0].backward(grad, conv: conv1, norm: bn1, into: gradients)
        var gradIdentity = gradSum
        if let downsample, let downsampleCache = cache.downsample {
            gradIdentity = try downsampleCache.backward(gradIdentity, conv: downsample.conv, norm: downsample.norm,
                                                        into: gradients)
            if stride > 1 {
                gradIdentity = try avgPool2dBackward(gradIdentity, inputShape: cache.inputShape, kernelSize: stride)
            }
        }
        return try add(grad, gradIdentity)
    }
}

extension AttentionPool2d {
    /// What the attention pool's backward needs.
    public struct Cache: Sendable {
        let inputShape: [Int]
        let attention: MultiHeadAttention.Cache
    }

    /// `[N, C, H, W]` → `[N, outputDim]`, keeping the attention's cache.
    public func forwardTraining(_ x: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (attended, attentionCache) = try attention.forwardTraining(tokens(x))
        return (try firstToken(attended), Cache(inputShape: x.shape, attention: attentionCache))
    }

    /// Accumulates the pool's parameter gradients and returns d(feature map).
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let (batch, channels) = (cache.inputShape[0], cache.inputShape[1])
        let tokenCount = cache.inputShape[2] * cache.inputShape[3]
        let gradTokens = try attention.backward(firstTokenBackward(gradOutput, length: tokenCount + 1),
                                                cache: cache.attention, into: gradients)
        try gradients.accumulate(sum(gradTokens, axis: 0), for: positionalEmbedding)
        let (gradMean, gradSequence) = try prependingTokenBackward(gradTokens, shared: false)
        let gradFromMean = try meanBackward(gradMean, inputShape: [batch, tokenCount, channels], axis: 1)
        let total = try add(gradSequence, gradFromMean)
        return try total.permuted([0, 2, 1]).contiguous().reshaped(cache.inputShape)
    }
}
