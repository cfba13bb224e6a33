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
    public func callAsFunction(_ x: Tensor, keyMask: Tensor? = nil) throws -> Tensor {
        guard x.rank == 3 else {
            throw TensorError.invalidShape(op: "MultiHeadAttention", shape: x.shape, reason: "expected [batch, length, width]")
        }
        let batch = x.shape[0], length = x.shape[1]
        let (query, key, value) = try projectHeads(x)
        let headWidth = query.shape[2]
        let scores = try matmul(scale(query, by: 1 / Float(headWidth).squareRoot()), key, transposeB: true)
        let probabilities = try softmax(lastAxisOf: scores.reshaped([batch, heads, length, length]), additiveMask: keyMask)
        let context = try matmul(probabilities.reshaped([batch * heads, length, length]), value)
        let merged = try context.reshaped([batch, heads, length, headWidth]).permuted([0, 2, 1, 3]).contiguous()
            .reshaped([batch, length, heads * headWidth])
        return try output(merged)
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
            func split(_ layer: Linear) throws -> Tensor {
                let width = layer.outFeatures
                return try layer(x).reshaped([batch, length, heads, width / heads]).permuted([0, 2, 1, 3]).contiguous()
                    .reshaped([batch * heads, length, width / heads])
            }
            return (try split(query), try split(key), try split(value))
        }
    }
}
