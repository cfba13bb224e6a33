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

/// Backward of `prependingToken`: the gradient of the token (`[N, W]`, or summed over the batch to `[W]` when
/// `shared`) and of the sequence `[N, L, W]`.
func prependingTokenBackward(_ gradOutput: Tensor, shared: Bool) throws -> (token: Tensor, sequence: Tensor) {
    let batch = gradOutput.shape[0], length = gradOutput.shape[1] - 1, width = gradOutput.shape[2]
    let perItem = try firstToken(gradOutput)
    let token = shared ? try sum(perItem, axis: 0) : perItem
    let sequence = try gradOutput.sliced(axis: 1, range: 1..<(length + 1)).contiguous()
    guard sequence.shape == [batch, length, width] else {
        throw TensorError.shapeMismatch(op: "prependingTokenBackward", lhs: sequence.shape, rhs: [batch, length, width])
    }
    return (token, sequence)
}

/// Backward of `firstToken`: `[N, W]` written into row 0 of a zero `[N, L, W]`.
func firstTokenBackward(_ gradOutput: Tensor, length: Int) throws -> Tensor {
    let batch = gradOutput.shape[0], width = gradOutput.shape[1]
    return try slicedBackward(gradOutput.reshaped([batch, 1, width]), inputShape: [batch, length, width], axis: 1,
                              range: 0..<1)
}
