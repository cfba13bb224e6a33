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
        let keptPatches: [[Int]]?
    }

    /// Image features `[N, embed_dim]` with the cache for `backward`. `keptPatches` (FLIP, `--mask-ratio`): per
    /// image, the 0-based patch indices to keep, in order; the class token goes first and the other patches are
    /// dropped after the positional embedding is added, before `ln_pre`.
    public func forwardTraining(_ images: Tensor, pass: TrainingPass,
                                keptPatches: [[Int]]? = nil) throws -> (output: Tensor, cache: Cache) {
        var embedded = try embedTokens(images)
        if let keptPatches { embedded = try Self.keepingPatches(embedded, keptPatches) }
        let (normalized, lnPreCache) = try lnPre.forwardTraining(embedded)
        var x = normalized
        var memories: [BlockMemory<ResidualAttentionBlock.Cache>] = []
        for block in blocks {
            let (output, memory) = try BlockMemory.run(x, checkpointing: pass.gradientCheckpointing, block.forwardTraining)
            x = output
            memories.append(memory)
        }
        let (pooled, lnPostCache) = try lnPost.forwardTraining(firstToken(x))
        let grid = images.shape[2] / patchSize
        let cache = Cache(images: images, patchShape: [images.shape[0], proj.shape[0], grid, grid], lnPre: lnPreCache,
                          blocks: memories, lnPost: lnPostCache, pooled: pooled, tokens: normalized.shape[1],
                          keptPatches: keptPatches)
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
        if let kept = cache.keptPatches {
            grad = Self.keepingPatchesBackward(grad, kept, tokens: positionalEmbedding.shape[0])
        }
        try gradients.accumulate(sum(grad, axis: 0), for: positionalEmbedding)
        let (gradClass, gradSequence) = try prependingTokenBackward(grad, shared: true)
        try gradients.accumulate(gradClass, for: classEmbedding)
        let gradPatches = try gradSequence.permuted([0, 2, 1]).contiguous().reshaped(cache.patchShape)
        _ = try conv1.backward(gradPatches, input: cache.images, into: gradients)
    }

    /// Tokens `[N, L, W]` reduced to the class token followed by the kept patches: `[N, 1 + K, W]`.
    static func keepingPatches(_ x: Tensor, _ kept: [[Int]]) throws -> Tensor {
        let batch = x.shape[0], tokens = x.shape[1], width = x.shape[2]
        let count = kept.first?.count ?? 0
        guard kept.count == batch, kept.allSatisfy({ $0.count == count && $0.allSatisfy { (0..<tokens - 1).contains($0) } })
        else {
            throw ModelError.invalidInput("kept patch indices must give \(batch) rows of equal length within 0..<\(tokens - 1)")
        }
        let source = x.contiguous(), result = Tensor(zeros: [batch, 1 + count, width])
        let input = source.storage.pointer + source.offset, output = result.storage.pointer
        for image in 0..<batch {
            let rows = [0] + kept[image].map { $0 + 1 }
            for (position, row) in rows.enumerated() {
                (output + (image * (1 + count) + position) * width)
                    .update(from: input + (image * tokens + row) * width, count: width)
            }
        }
        return result
    }

    /// The gradient of `keepingPatches`: each kept row goes back to its token, dropped tokens get zero.
    static func keepingPatchesBackward(_ grad: Tensor, _ kept: [[Int]], tokens: Int) -> Tensor {
        let batch = grad.shape[0], count = grad.shape[1] - 1, width = grad.shape[2]
        let source = grad.contiguous(), result = Tensor(zeros: [batch, tokens, width])
        let input = source.storage.pointer + source.offset, output = result.storage.pointer
        for image in 0..<batch {
            let rows = [0] + kept[image].map { $0 + 1 }
            for (position, row) in rows.enumerated() {
                let target = output + (image * tokens + row) * width
                let gradient = input + (image * (1 + count) + position) * width
                for column in 0..<width { target[column] += gradient[column] }
            }
        }
        return result
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
