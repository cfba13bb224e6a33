import Layers
import Tensor

/// The reference's BERT text tower: word + position + token-type embeddings, post-LN encoder layers with
/// erf-GELU, key mask from the `[PAD]` id 0 as an additive −10000 bias; no pooler.
public struct BertTextEncoder: StatefulModule, Sendable {
    public let wordEmbeddings: Embedding
    public let positionEmbeddings: Embedding
    public let tokenTypeEmbeddings: Embedding
    public let embeddingNorm: LayerNorm
    public let layers: [BertLayer]
    /// Dropout after the embeddings and after each layer's two output projections (`hidden_dropout_prob`).
    public let hiddenDropout: Dropout
    /// Dropout of the attention probabilities (`attention_probs_dropout_prob`).
    public let attentionDropout: Dropout

    public init(config: ModelConfig) {
        let hidden = config.textHiddenSize
        wordEmbeddings = Embedding(count: config.vocabSize, dimension: hidden)
        positionEmbeddings = Embedding(count: config.textMaxPositionEmbeddings, dimension: hidden)
        tokenTypeEmbeddings = Embedding(count: config.textTypeVocabSize, dimension: hidden)
        embeddingNorm = LayerNorm(features: hidden, eps: 1e-12)
        hiddenDropout = Dropout(probability: Float(config.textHiddenDropoutProb))
        attentionDropout = Dropout(probability: Float(config.textAttentionProbsDropoutProb))
        layers = (0..<config.textNumHiddenLayers).map { _ in
            BertLayer(hidden: hidden, intermediate: config.textIntermediateSize, heads: config.textNumAttentionHeads)
        }
    }

    /// Last hidden states `[B, L, H]` for token ids laid out `[B, L]` row-major.
    /// - Throws: `ModelError.invalidInput` when L exceeds the position table or an id is outside the vocabulary.
    public func callAsFunction(ids: [Int], batch: Int, length: Int) throws -> Tensor {
        let (x, keyMask) = try lastLayerInput(ids: ids, batch: batch, length: length)
        guard let last = layers.last else { return x }
        return try last(x, keyMask: keyMask)
    }

    /// The `[CLS]` row of the last hidden states, `[B, H]` (row 0 of `callAsFunction`): the only row the text
    /// features use, so the last layer computes it alone (its keys and values still cover every position).
    public func classTokenHiddenState(ids: [Int], batch: Int, length: Int) throws -> Tensor {
        let (x, keyMask) = try lastLayerInput(ids: ids, batch: batch, length: length)
        guard let last = layers.last else { return try firstToken(x) }
        return try last.classTokenOutput(x, keyMask: keyMask)
    }

    /// The input of the last layer (the embeddings when there are no layers) and the key mask every layer uses.
    private func lastLayerInput(ids: [Int], batch: Int, length: Int) throws -> (Tensor, keyMask: Tensor) {
        var x = try embeddingNorm(embed(ids: ids, batch: batch, length: length))
        let keyMask = try Self.keyMask(ids: ids, batch: batch, length: length)
        for layer in layers.dropLast() { x = try layer(x, keyMask: keyMask) }
        return (x, keyMask)
    }

    /// The summed word, position and token-type embeddings `[B, L, H]` (before their LayerNorm), after checking
    /// the ids.
    func embed(ids: [Int], batch: Int, length: Int) throws -> Tensor {
        guard ids.count == batch * length else {
            throw ModelError.invalidInput("\(ids.count) token ids do not form [\(batch), \(length)]")
        }
        guard length <= positionEmbeddings.weight.shape[0] else {
            throw ModelError.invalidInput("context length \(length) exceeds the \(positionEmbeddings.weight.shape[0]) positions of the text tower")
        }
        let vocabulary = wordEmbeddings.weight.shape[0]
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw ModelError.invalidInput("token id \(bad) is outside the vocabulary of \(vocabulary)")
        }
        let positions = (0..<(batch * length)).map { $0 % length }
        let x = try add(wordEmbeddings(ids, shape: [batch, length]), positionEmbeddings(positions, shape: [batch, length]))
        return try add(x, tokenTypeEmbeddings([0], shape: [1]))
    }

    /// The additive key mask `[B, 1, 1, L]`: −10000 at `[PAD]` (id 0), 0 elsewhere.
    static func keyMask(ids: [Int], batch: Int, length: Int) throws -> Tensor {
        try Tensor(shape: [batch, 1, 1, length], data: ids.map { $0 == 0 ? -10000 : 0 })
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = wordEmbeddings.stateEntries(prefix: prefix.dotted("embeddings.word_embeddings"))
        entries += positionEmbeddings.stateEntries(prefix: prefix.dotted("embeddings.position_embeddings"))
        entries += tokenTypeEmbeddings.stateEntries(prefix: prefix.dotted("embeddings.token_type_embeddings"))
        entries += embeddingNorm.stateEntries(prefix: prefix.dotted("embeddings.LayerNorm"))
        for (index, layer) in layers.enumerated() {
            entries += layer.stateEntries(prefix: prefix.dotted("encoder.layer.\(index)"))
        }
        return entries
    }
}

/// One post-LN BERT layer: a = LN(dense(selfAttention(x)) + x); y = LN(dense(GELU(dense(a))) + a).
public struct BertLayer: StatefulModule, Sendable {
    public let query: Linear, key: Linear, value: Linear
    public let attention: MultiHeadAttention
    public let attentionNorm: LayerNorm
    public let intermediate: Linear
    public let output: Linear
    public let outputNorm: LayerNorm

    public init(hidden: Int, intermediate intermediateSize: Int, heads: Int) {
        query = Linear(inFeatures: hidden, outFeatures: hidden)
        key = Linear(inFeatures: hidden, outFeatures: hidden)
        value = Linear(inFeatures: hidden, outFeatures: hidden)
        attention = MultiHeadAttention(projection: .separate(query: query, key: key, value: value),
                                       output: Linear(inFeatures: hidden, outFeatures: hidden), heads: heads)
        attentionNorm = LayerNorm(features: hidden, eps: 1e-12)
        intermediate = Linear(inFeatures: hidden, outFeatures: intermediateSize)
        output = Linear(inFeatures: intermediateSize, outFeatures: hidden)
        outputNorm = LayerNorm(features: hidden, eps: 1e-12)
    }

    public func callAsFunction(_ x: Tensor, keyMask: Tensor) throws -> Tensor {
        let attended = try attentionNorm(add(attention(x, keyMask: keyMask), x))
        return try outputNorm(add(output(gelu(intermediate(attended))), attended))
    }

    /// Row 0 of `callAsFunction(x, keyMask:)`, `[B, H]`, computed without the other rows'.
    public func classTokenOutput(_ x: Tensor, keyMask: Tensor) throws -> Tensor {
        let attended = try attentionNorm(add(attention.firstPositionOutput(x, keyMask: keyMask), firstToken(x)))
        return try outputNorm(add(output(gelu(intermediate(attended))), attended))
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = query.stateEntries(prefix: prefix.dotted("attention.self.query"))
        entries += key.stateEntries(prefix: prefix.dotted("attention.self.key"))
        entries += value.stateEntries(prefix: prefix.dotted("attention.self.value"))
        entries += attention.output.stateEntries(prefix: prefix.dotted("attention.output.dense"))
        entries += attentionNorm.stateEntries(prefix: prefix.dotted("attention.output.LayerNorm"))
        entries += intermediate.stateEntries(prefix: prefix.dotted("intermediate.dense"))
        entries += output.stateEntries(prefix: prefix.dotted("output.dense"))
        entries += outputNorm.stateEntries(prefix: prefix.dotted("output.LayerNorm"))
        return entries
    }
}
