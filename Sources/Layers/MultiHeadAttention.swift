import Tensor

/// Multi-head scaled dot-product attention, shared by every tower: the ViT blocks (one packed `in_proj`),
/// BERT self-attention and the ResNet attention pool (separate query/key/value projections).
public struct MultiHeadAttention: Sendable {
    /// How the input becomes queries, keys and values.
    public enum Projection: Sendable {
        /// One `[3W, W]` weight whose rows are [q; k; v] (PyTorch `nn.MultiheadAttention.in_proj_weight`).
        case packed(Linear)
        /// Three separate `[W, W]` projections.
        case separate(query: Linear, key: Linear, value: Linear)
    }

    public let projection: Projection
    public let output: Linear
    public let heads: Int

    public init(projection: Projection, output: Linear, heads: Int) {
        self.projection = projection
        self.output = output
        self.heads = heads
    }

    /// Attention of every position of `x` `[B, L, W]` over all positions, with an optional additive key mask
    /// `[B, 1, 1, L]` (BERT's (1 − mask)·−10000); returns `[B, L, outFeatures]`.
    /// Inference only: the fused kernel (`Tensor.multiHeadAttention`) keeps nothing for backward.
    public func callAsFunction(_ x: Tensor, keyMask: Tensor? = nil) throws -> Tensor {
        guard x.rank == 3 else {
            throw TensorError.invalidShape(op: "MultiHeadAttention", shape: x.shape, reason: "expected [batch, length, width]")
        }
        let (query, key, value) = try projections(x)
        return try output(multiHeadAttention(query: query, key: key, value: value, heads: heads, keyMask: keyMask))
    }

    /// Queries, keys and values of `x`, each `[B, L, W]` with heads side by side (column slices of the packed
    /// projection's output, or the three separate projections).
    private func projections(_ x: Tensor) throws -> (Tensor, Tensor, Tensor) {
        switch projection {
        case let .packed(inProjection):
            let width = inProjection.outFeatures / 3
            let packed = try inProjection(x)
            return (try packed.sliced(axis: 2, range: 0..<width), try packed.sliced(axis: 2, range: width..<(2 * width)),
                    try packed.sliced(axis: 2, range: (2 * width)..<(3 * width)))
        case let .separate(query, key, value):
            return (try query(x), try key(x), try value(x))
        }
    }

    /// What the backward pass needs from a forward pass.
    public struct Cache: Sendable {
        /// The input `[B, L, W]`.
        public let input: Tensor
        /// Queries already divided by √headWidth, keys and values, each `[B·heads, L, headWidth]`.
        public let scaledQuery: Tensor, key: Tensor, value: Tensor
        /// softmax(scores + mask) `[B·heads, L, L]`, and the same after attention-probability dropout.
        public let probabilities: Tensor, attended: Tensor
        /// The scaled keep-mask of attention-probability dropout, if any.
        public let dropoutMask: Tensor?
        /// Heads concatenated again `[B, L, W]`: the input of the output projection.
        public let merged: Tensor
    }

    /// The forward pass keeping what `backward` needs; `dropoutMask` (`[B·heads, L, L]`, from `Dropout.mask`)
    /// drops attention probabilities as BERT's attention-probs dropout does.
    public func forwardTraining(_ x: Tensor, keyMask: Tensor? = nil,
                                dropoutMask: Tensor? = nil) throws -> (output: Tensor, cache: Cache) {
        guard x.rank == 3 else {
            throw TensorError.invalidShape(op: "MultiHeadAttention", shape: x.shape, reason: "expected [batch, length, width]")
        }
        let batch = x.shape[0], length = x.shape[1]
        let (query, key, value) = try projectHeads(x)
        let headWidth = query.shape[2]
        let scaledQuery = scale(query, by: 1 / Float(headWidth).squareRoot())
        let scores = try matmul(scaledQuery, key, transposeB: true)
        let probabilities = try softmax(lastAxisOf: scores.reshaped([batch, heads, length, length]), additiveMask: keyMask)
            .reshaped([batch * heads, length, length])
        let attended = try dropoutMask.map { try multiply(probabilities, $0) } ?? probabilities
        let context = try matmul(attended, value)
        let merged = try mergeHeads(context, batch: batch)
        let cache = Cache(input: x, scaledQuery: scaledQuery, key: key, value: value, probabilities: probabilities,
                          attended: attended, dropoutMask: dropoutMask, merged: merged)
        return (try output(merged), cache)
    }

    /// Backward of `forwardTraining`: accumulates the projections' gradients into `gradients` and returns dx.
    public func backward(_ gradOutput: Tensor, cache: Cache, into gradients: GradientStore) throws -> Tensor {
        let batch = cache.input.shape[0], length = cache.input.shape[1], headWidth = cache.key.shape[2]
        let gradMerged = try output.backward(gradOutput, input: cache.merged, into: gradients)
        let gradContext = try gradMerged.reshaped([batch, length, heads, headWidth]).permuted([0, 2, 1, 3]).contiguous()
            .reshaped([batch * heads, length, headWidth])
        var gradAttended = try matmul(gradContext, cache.value, transposeB: true)
        let gradValue = try matmul(cache.attended, gradContext, transposeA: true)
        if let mask = cache.dropoutMask { gradAttended = try multiply(gradAttended, mask) }
        let gradScores = try softmaxBackward(gradAttended, output: cache.probabilities)
        let gradQuery = scale(try matmul(gradScores, cache.key), by: 1 / Float(headWidth).squareRoot())
        let gradKey = try matmul(gradScores, cache.scaledQuery, transposeA: true)
        switch projection {
        case let .packed(inProjection):
            let stacked = Tensor(zeros: [3] + gradQuery.shape)
            for (index, part) in [gradQuery, gradKey, gradValue].enumerated() {
                part.copyElements(to: stacked.storage.pointer + index * part.count)
            }
            let gradPacked = try stacked.reshaped([3, batch, heads, length, headWidth]).permuted([1, 3, 0, 2, 4])
                .contiguous().reshaped([batch, length, 3 * heads * headWidth])
            return try inProjection.backward(gradPacked, input: cache.input, into: gradients)
        case let .separate(query, key, value):
            let gradInput = try query.backward(mergeHeads(gradQuery, batch: batch), input: cache.input, into: gradients)
                .contiguous()
            try addInPlace(gradInput, key.backward(mergeHeads(gradKey, batch: batch), input: cache.input, into: gradients))
            try addInPlace(gradInput, value.backward(mergeHeads(gradValue, batch: batch), input: cache.input, into: gradients))
            return gradInput
        }
    }

    /// `[B·heads, L, headWidth]` → `[B, L, heads·headWidth]`.
    private func mergeHeads(_ x: Tensor, batch: Int) throws -> Tensor {
        let length = x.shape[1], headWidth = x.shape[2]
        return try x.reshaped([batch, heads, length, headWidth]).permuted([0, 2, 1, 3]).contiguous()
            .reshaped([batch, length, heads * headWidth])
    }

    /// The output at position 0 alone, `[B, outFeatures]`: what the ResNet attention pool returns, and all that the
    /// last block of a tower contributes to its features (the class token). Only that position's query is projected
    /// and attended; the keys and values still cover every position, with the optional key mask `[B, 1, 1, L]`.
    /// Equal (to rounding) to row 0 of `callAsFunction(x, keyMask:)` at about 1/L of its query-side work.
    public func firstPositionOutput(_ x: Tensor, keyMask: Tensor? = nil) throws -> Tensor {
        guard x.rank == 3 else {
            throw TensorError.invalidShape(op: "MultiHeadAttention", shape: x.shape, reason: "expected [batch, length, width]")
        }
        let first = try x.sliced(axis: 1, range: 0..<1)
        let query: Tensor, key: Tensor, value: Tensor
        switch projection {
        case let .packed(inProjection) where inProjection.kernelSlot.kernel != nil:
            // A reduced-precision kernel covers the whole packed weight (its fp32 rows may be released): project
            // every position and keep the first query.
            let width = inProjection.outFeatures / 3
            let packed = try inProjection(x)
            query = try packed.sliced(axis: 1, range: 0..<1).sliced(axis: 2, range: 0..<width)
            key = try packed.sliced(axis: 2, range: width..<(2 * width))
            value = try packed.sliced(axis: 2, range: (2 * width)..<(3 * width))
        case let .packed(inProjection):
            let width = inProjection.outFeatures / 3
            query = try rows(of: inProjection, 0..<width)(first)
            let keyValue = try rows(of: inProjection, width..<(3 * width))(x)
            key = try keyValue.sliced(axis: 2, range: 0..<width)
            value = try keyValue.sliced(axis: 2, range: width..<(2 * width))
        case let .separate(queryProjection, keyProjection, valueProjection):
            query = try queryProjection(first)
            key = try keyProjection(x)
            value = try valueProjection(x)
        }
        let merged = try multiHeadAttention(query: query, key: key, value: value, heads: heads, keyMask: keyMask)
        return try output(merged).reshaped([x.shape[0], output.outFeatures])
    }

    /// The projection onto output rows `range` of `layer` (views of its weight and bias, nothing copied).
    private func rows(of layer: Linear, _ range: Range<Int>) throws -> Linear {
        Linear(weight: try layer.weight.sliced(axis: 0, range: range), bias: try layer.bias?.sliced(axis: 0, range: range))
    }

    /// `[B, L, W]` → `[B·heads, L, W / heads]`, contiguous.
    private func splitHeads(_ x: Tensor, batch: Int) throws -> Tensor {
        let length = x.shape[1], width = x.shape[2]
        return try x.reshaped([batch, length, heads, width / heads]).permuted([0, 2, 1, 3]).contiguous()
            .reshaped([batch * heads, length, width / heads])
    }

    /// Queries, keys and values of `x`, each `[B·heads, L, headWidth]` and contiguous.
    private func projectHeads(_ x: Tensor) throws -> (Tensor, Tensor, Tensor) {
        let batch = x.shape[0], length = x.shape[1]
        switch projection {
        case let .packed(inProjection):
            let width = inProjection.outFeatures / 3
            let headWidth = width / heads
            let packed = try inProjection(x).reshaped([batch, length, 3, heads, headWidth])
                .permuted([2, 0, 3, 1, 4]).contiguous().reshaped([3, batch * heads, length, headWidth])
            func part(_ index: Int) throws -> Tensor {
                try packed.sliced(axis: 0, range: index..<(index + 1)).reshaped([batch * heads, length, headWidth])
            }
            return (try part(0), try part(1), try part(2))
        case let .separate(query, key, value):
            return (try splitHeads(query(x), batch: batch), try splitHeads(key(x), batch: batch),
                    try splitHeads(value(x), batch: batch))
        }
    }
}
