import Layers
import Tensor

/// Training-mode forward and backward of the ViT tower (no dropout anywhere in the reference's ViT).
extension VisionTransformer {
    /// What the backward pass needs from `forwardTraining`.
    public struct Cache: Sendable {
        let images: Tensor
        let patchShape: [Int]
        let lnPre: LayerNorm.Cache
        let blocks: [BlockMemory<ResidualAttentionBlock.Cache>]
        let lnPost: LayerNorm.Cache
        let pooled: Tensor
        let tokens: Int
    }

    /// Image features `[N, embed_dim]` with the cache for `backward`.
    public func forwardTraining(_ images: Tensor, pass: TrainingPass) throws -> (output: Tensor, cache: Cache) {
        let patches = try conv1(images)
        let batch = patches.shape[0], width = patches.shape[1], tokens = patches.shape[2] * patches.shape[3]
        var x = try patches.reshaped([batch, width, tokens]).permuted([0, 2, 1]).contiguous()
        x = try prependingToken(classEmbedding, to: x)
        guard x.shape[1] == positionalEmbedding.shape[0] else {
            throw TensorError.shapeMismatch(op: "VisionTransformer positional embedding", lhs: x.shape,
                                            rhs: positionalEmbedding.shape)
        }
        let (normalized, lnPreCache) = try lnPre.forwardTraining(add(x, positionalEmbedding))
        x = normalized
        var memories: [BlockMemory<ResidualAttentionBlock.Cache>] = []
        for block in blocks {
            let (output, memory) = try BlockMemory.run(x, checkpointing: pass.gradientCheckpointing, block.forwardTraining)
            x = output
            memories.append(memory)
        }
        let (pooled, lnPostCache) = try lnPost.forwardTraining(firstToken(x))
        let cache = Cache(images: images, patchShape: patches.shape, lnPre: lnPreCache, blocks: memories,
                          lnPost: lnPostCache, pooled: pooled, tokens: tokens + 1)
        return (try matmul(pooled, proj), cache)
    }

    /// Accumulates the gradient of every ViT parameter, given d(features).
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws {
        let (gradPooled, gradProj) = try matmulBackward(gradOutput, cache.pooled, proj)
        try gradients.accumulate(gradProj, for: proj)
        var grad = try firstTokenBackward(lnPost.backward(gradPooled, cache: cache.lnPost, into: gradients),
                                          length: cache.tokens)
        for (block, memory) in zip(blocks, cache.blocks).reversed() {
            grad = try block.backward(grad, cache: memory.cache(block.forwardTraining), into: gradients)
        }
        grad = try lnPre.backward(grad, cache: cache.lnPre, into: gradients)
        try gradients.accumulate(sum(grad, axis: 0), for: positionalEmbedding)
        let (gradClass, gradSequence) = try prependingTokenBackward(grad, shared: true)
        try gradients.accumulate(gradClass, for: classEmbedding)
        let gradPatches = try gradSequence.permuted([0, 2, 1]).contiguous().reshaped(cache.patchShape)
        _ = try conv1.backward(gradPatches, input: cache.images, into: gradients)
    }
}

extension ResidualAttentionBlock {
    /// What the block's backward needs.
    public struct Cache: Sendable {
        let ln1: LayerNorm.Cache
        let attention: MultiHeadAttention.Cache
        let ln2: LayerNorm.Cache
        let normalized2: Tensor
        let hidden: Tensor
        let activated: Tensor
    }

    /// x + attn(ln_1(x)), then + c_proj(QuickGELU(c_fc(ln_2(·)))), keeping the intermediate values.
    public func forwardTraining(_ x: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (normalized1, ln1Cache) = try ln1.forwardTraining(x)
        let (attended, attentionCache) = try attention.forwardTraining(normalized1)
        let residual = try add(x, attended)
        let (normalized2, ln2Cache) = try ln2.forwardTraining(residual)
        let hidden = try fc(normalized2)
        let activated = quickGELU(hidden)
        let output = try add(residual, projection(activated))
        return (output, Cache(ln1: ln1Cache, attention: attentionCache, ln2: ln2Cache, normalized2: normalized2, hidden: hidden, activated: activated))
    }

    /// Accumulates the block's parameter gradients and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let gradActivated = try projection.backward(gradOutput, input: cache.activated, into: gradients)
        let gradHidden = try quickGELUBackward(gradActivated, input: cache.hidden)
        let gradNormalized2 = try fc.backward(gradHidden, input: cache.normalized2, into: gradients)
        let gradResidual = try add(gradOutput, ln2.backward(gradNormalized2, cache: cache.ln2, into: gradients))
        let gradNormalized1 = try attention.backward(gradResidual, cache: cache.attention, into: gradients)
        return try add(gradResidual, ln1.backward(gradNormalized1, cache: cache.ln1, into: gradients))
    }
}
