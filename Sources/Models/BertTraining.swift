import Layers
import Tensor

/// Training-mode forward and backward of the BERT text tower, with the reference's dropout sites.
extension BertTextEncoder {
    /// What the backward pass needs from `forwardTraining`.
    public struct Cache: Sendable {
        let ids: [Int]
        let batch: Int, length: Int
        let embeddingNorm: LayerNorm.Cache
        let embeddingDropout: Tensor?
        let keyMask: Tensor
        let layers: [BlockMemory<BertLayer.Cache>]
    }

    /// Dropout sites per layer: attention probabilities, attention output, layer output.
    private static let sitesPerLayer = 3

    /// The dropout masks of layer `index` for a batch of `batch` sequences of `length`.
    private func dropoutMasks(layer index: Int, batch: Int, length: Int, pass: TrainingPass) -> BertLayer.DropoutMasks {
        let heads = layers[index].attention.heads, hidden = embeddingNorm.weight.count
        let site = 1 + index * Self.sitesPerLayer
        return BertLayer.DropoutMasks(
            attention: pass.dropout.mask(attentionDropout, shape: [batch * heads, length, length], site: site),
            attentionOutput: pass.dropout.mask(hiddenDropout, shape: [batch, length, hidden], site: site + 1),
            output: pass.dropout.mask(hiddenDropout, shape: [batch, length, hidden], site: site + 2))
    }

    /// Last hidden states `[B, L, H]` with the cache for `backward`.
    public func forwardTraining(ids: [Int], batch: Int, length: Int,
                                pass: TrainingPass) throws -> (output: Tensor, cache: Cache) {
        let (normalized, normCache) = try embeddingNorm.forwardTraining(embed(ids: ids, batch: batch, length: length))
        let embeddingDropout = pass.dropout.mask(hiddenDropout, shape: normalized.shape, site: 0)
        var x = try embeddingDropout.map { try multiply(normalized, $0) } ?? normalized
        let keyMask = try Self.keyMask(ids: ids, batch: batch, length: length)
        var memories: [BlockMemory<BertLayer.Cache>] = []
        for (index, layer) in layers.enumerated() {
            let masks = dropoutMasks(layer: index, batch: batch, length: length, pass: pass)
            let (output, memory) = try BlockMemory.run(x, checkpointing: pass.gradientCheckpointing) {
                try layer.forwardTraining($0, keyMask: keyMask, masks: masks)
            }
            x = output
            memories.append(memory)
        }
        return (x, Cache(ids: ids, batch: batch, length: length, embeddingNorm: normCache,
                         embeddingDropout: embeddingDropout, keyMask: keyMask, layers: memories))
    }

    /// Accumulates the gradient of every BERT parameter, given d(last hidden states).
    public func backward(_ gradOutput: Tensor, cache: Cache, pass: TrainingPass, into gradients: GradientStore) throws {
        var grad = gradOutput
        for (index, (layer, memory)) in zip(layers, cache.layers).enumerated().reversed() {
            let masks = dropoutMasks(layer: index, batch: cache.batch, length: cache.length, pass: pass)
            let layerCache = try memory.cache { try layer.forwardTraining($0, keyMask: cache.keyMask, masks: masks) }
            grad = try layer.backward(grad, cache: layerCache, into: gradients)
        }
        if let mask = cache.embeddingDropout { grad = try multiply(grad, mask) }
        grad = try embeddingNorm.backward(grad, cache: cache.embeddingNorm, into: gradients)
        try wordEmbeddings.backward(grad, ids: cache.ids, paddingIndex: 0, into: gradients)
        let positions = (0..<cache.ids.count).map { $0 % cache.length }
        try positionEmbeddings.backward(grad, ids: positions, into: gradients)
        try tokenTypeEmbeddings.backward(grad, ids: [Int](repeating: 0, count: cache.ids.count), into: gradients)
    }
}

extension BertLayer {
    /// The scaled keep-masks of the layer's three dropout sites (nil where nothing is dropped).
    public struct DropoutMasks: Sendable {
        public let attention: Tensor?
        public let attentionOutput: Tensor?
        public let output: Tensor?

        public init(attention: Tensor?, attentionOutput: Tensor?, output: Tensor?) {
            self.attention = attention
            self.attentionOutput = attentionOutput
            self.output = output
        }
    }

    /// What the layer's backward needs.
    public struct Cache: Sendable {
        let attention: MultiHeadAttention.Cache
        let attentionNorm: LayerNorm.Cache
        let attended: Tensor
        let hidden: Tensor
        let activated: Tensor
        let outputNorm: LayerNorm.Cache
        let masks: DropoutMasks
    }

    /// a = LN(dropout(attention(x)) + x); y = LN(dropout(dense(GELU(dense(a)))) + a), keeping intermediate values.
    public func forwardTraining(_ x: Tensor, keyMask: Tensor, masks: DropoutMasks) throws -> (output: Tensor, cache: Cache) {
        let (selfAttention, attentionCache) = try attention.forwardTraining(x, keyMask: keyMask, dropoutMask: masks.attention)
        let dropped = try masks.attentionOutput.map { try multiply(selfAttention, $0) } ?? selfAttention
        let (attended, attentionNormCache) = try attentionNorm.forwardTraining(add(dropped, x))
        let hidden = try intermediate(attended)
        let activated = gelu(hidden)
        let projected = try output(activated)
        let droppedOutput = try masks.output.map { try multiply(projected, $0) } ?? projected
        let (result, outputNormCache) = try outputNorm.forwardTraining(add(droppedOutput, attended))
        return (result, Cache(attention: attentionCache, attentionNorm: attentionNormCache, attended: attended,
                              hidden: hidden, activated: activated, outputNorm: outputNormCache, masks: masks))
    }

    /// Accumulates the layer's parameter gradients and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let gradSum2 = try outputNorm.backward(gradOutput, cache: cache.outputNorm, into: gradients)
        let gradProjected = try cache.masks.output.map { try multiply(gradSum2, $0) } ?? gradSum2
        let gradActivated = try output.backward(gradProjected, input: cache.activated, into: gradients)
        let gradHidden = try geluBackward(gradActivated, input: cache.hidden)
        let gradAttended = try add(gradSum2, intermediate.backward(gradHidden, input: cache.attended, into: gradients))
        let gradSum1 = try attentionNorm.backward(gradAttended, cache: cache.attentionNorm, into: gradients)
        let gradSelfAttention = try cache.masks.attentionOutput.map { try multiply(gradSum1, $0) } ?? gradSum1
        return try add(gradSum1, attention.backward(gradSelfAttention, cache: cache.attention, into: gradients))
    }
}
