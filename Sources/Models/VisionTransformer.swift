import Layers
import Tensor

/// The reference's `VisualTransformer`: patch convolution, class token, positional embedding, pre-LN blocks
/// with QuickGELU MLPs, `ln_post` on the class token and a bias-free projection (output not normalised).
public struct VisionTransformer: StatefulModule, Sendable {
    public let conv1: Conv2d
    public let classEmbedding: Tensor
    public let positionalEmbedding: Tensor
    public let lnPre: LayerNorm
    public let blocks: [ResidualAttentionBlock]
    public let lnPost: LayerNorm
    public let proj: Tensor
    public let patchSize: Int

    public init(resolution: Int, patchSize: Int, width: Int, layers: Int, heads: Int, outputDim: Int) {
        let grid = resolution / patchSize
        conv1 = Conv2d(inChannels: 3, outChannels: width, kernelSize: patchSize, stride: patchSize)
        classEmbedding = Tensor(zeros: [width])
        positionalEmbedding = Tensor(zeros: [grid * grid + 1, width])
        lnPre = LayerNorm(features: width, eps: 1e-5)
        blocks = (0..<layers).map { _ in ResidualAttentionBlock(width: width, heads: heads) }
        lnPost = LayerNorm(features: width, eps: 1e-5)
        proj = Tensor(zeros: [width, outputDim])
        self.patchSize = patchSize
    }

    /// Image features `[N, embed_dim]` of images `[N, 3, R, R]`. Only the class token leaves the tower, so the
    /// last block computes its output for that token alone (its keys and values still cover every token).
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        var x = try lnPre(embedTokens(images))
        guard let last = blocks.last else { return try matmul(lnPost(firstToken(x)), proj) }
        for block in blocks.dropLast() { x = try block(x) }
        return try matmul(lnPost(last.classTokenOutput(x)), proj)
    }

    /// Patch embeddings with the class token in front and positions added: `[N, g² + 1, W]`, the input of `ln_pre`.
    func embedTokens(_ images: Tensor) throws -> Tensor {
        let patches = try conv1(images)
        let batch = patches.shape[0], width = patches.shape[1], tokens = patches.shape[2] * patches.shape[3]
        let x = try prependingToken(classEmbedding,
                                    to: patches.reshaped([batch, width, tokens]).permuted([0, 2, 1]).contiguous())
        guard x.shape[1] == positionalEmbedding.shape[0] else {
            throw TensorError.shapeMismatch(op: "VisionTransformer positional embedding", lhs: x.shape,
                                            rhs: positionalEmbedding.shape)
        }
        return try add(x, positionalEmbedding)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(prefix.dotted("class_embedding"), classEmbedding),
                       StateEntry(prefix.dotted("positional_embedding"), positionalEmbedding),
                       StateEntry(prefix.dotted("proj"), proj)]
        entries += conv1.stateEntries(prefix: prefix.dotted("conv1"))
        entries += lnPre.stateEntries(prefix: prefix.dotted("ln_pre"))
        for (index, block) in blocks.enumerated() {
            entries += block.stateEntries(prefix: prefix.dotted("transformer.resblocks.\(index)"))
        }
        entries += lnPost.stateEntries(prefix: prefix.dotted("ln_post"))
        return entries
    }
}

/// Pre-LN transformer block: x + attn(ln_1(x)), then x + c_proj(QuickGELU(c_fc(ln_2(x)))).
public struct ResidualAttentionBlock: StatefulModule, Sendable {
    public let inProjection: Linear
    public let attention: MultiHeadAttention
    public let ln1: LayerNorm
    public let fc: Linear
    public let projection: Linear
    public let ln2: LayerNorm

    public init(width: Int, heads: Int) {
        inProjection = Linear(inFeatures: width, outFeatures: 3 * width)
        attention = MultiHeadAttention(projection: .packed(inProjection),
                                       output: Linear(inFeatures: width, outFeatures: width), heads: heads)
        ln1 = LayerNorm(features: width, eps: 1e-5)
        fc = Linear(inFeatures: width, outFeatures: 4 * width)
        projection = Linear(inFeatures: 4 * width, outFeatures: width)
        ln2 = LayerNorm(features: width, eps: 1e-5)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let attended = try add(x, attention(ln1(x)))
        return try add(attended, projection(quickGELU(fc(ln2(attended)))))
    }

    /// Row 0 of `callAsFunction(x)`, `[B, W]`: the class token's output, computed without the other rows'.
    public func classTokenOutput(_ x: Tensor) throws -> Tensor {
        let attended = try add(firstToken(x), attention.firstPositionOutput(ln1(x)))
        return try add(attended, projection(quickGELU(fc(ln2(attended)))))
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = [StateEntry(prefix.dotted("attn.in_proj_weight"), inProjection.weight)]
        if let bias = inProjection.bias { entries.append(StateEntry(prefix.dotted("attn.in_proj_bias"), bias)) }
        entries += attention.output.stateEntries(prefix: prefix.dotted("attn.out_proj"))
        entries += ln1.stateEntries(prefix: prefix.dotted("ln_1"))
        entries += fc.stateEntries(prefix: prefix.dotted("mlp.c_fc"))
        entries += projection.stateEntries(prefix: prefix.dotted("mlp.c_proj"))
        entries += ln2.stateEntries(prefix: prefix.dotted("ln_2"))
        return entries
    }
}
