import Tensor

/// `[N, 1 + L, W]`: `token` (`[N, W]`, or `[W]` shared by every item) placed before each sequence of `x` `[N, L, W]`
/// (the ViT class token, the attention pool's mean token).
func prependingToken(_ token: Tensor, to x: Tensor) throws -> Tensor {
    guard x.rank == 3 else {
        throw TensorError.invalidShape(op: "prependingToken", shape: x.shape, reason: "expected [batch, length, width]")
    }
    let batch = x.shape[0], length = x.shape[1], width = x.shape[2]
    let shared = token.shape == [width]
    guard shared || token.shape == [batch, width] else {
        throw TensorError.shapeMismatch(op: "prependingToken", lhs: token.shape, rhs: x.shape)
    }
    let tokens = token.contiguous(), sequence = x.contiguous()
    let result = Tensor(zeros: [batch, length + 1, width])
    let source = sequence.storage.pointer + sequence.offset, tokenBase = tokens.storage.pointer + tokens.offset
    for item in 0..<batch {
        let destination = result.storage.pointer + item * (length + 1) * width
        destination.update(from: tokenBase + (shared ? 0 : item * width), count: width)
        (destination + width).update(from: source + item * length * width, count: length * width)
    }
    return result
}

/// Row 0 of every sequence of `x` `[N, L, W]` → `[N, W]`.
func firstToken(_ x: Tensor) throws -> Tensor {
    try x.sliced(axis: 1, range: 0..<1).reshaped([x.shape[0], x.shape[2]])
}
