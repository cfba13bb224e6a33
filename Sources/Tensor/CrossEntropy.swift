/// Mean cross-entropy of logits against integer class labels (PyTorch `F.cross_entropy`, reduction "mean").

/// What `crossEntropy` returns: the mean loss and the softmax probabilities its backward needs.
public struct CrossEntropyResult {
    /// Mean over the batch of −log p[label].
    public let loss: Float
    /// softmax(logits) over the classes, shape [N, C].
    public let probabilities: Tensor
}

private func checkLabels(_ labels: [Int], rows: Int, classes: Int, shape: [Int], op: String) throws {
    guard labels.count == rows else {
        throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: [labels.count])
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw TensorError.invalidShape(op: op, shape: shape, reason: "label \(bad) is outside 0..<\(classes)")
    }
}

/// Cross-entropy of logits [N, C] against `labels` (N values in 0..<C), averaged over N.
/// - Throws: `TensorError.shapeMismatch` when the label count differs from N, `TensorError.invalidShape`
///   for a label outside the classes or logits that are not rank 2.
public func crossEntropy(logits: Tensor, labels: [Int]) throws -> CrossEntropyResult {
    guard logits.rank == 2 else {
        throw TensorError.invalidShape(op: "crossEntropy", shape: logits.shape, reason: "logits must be [N, C]")
    }
    let rows = logits.shape[0], classes = logits.shape[1]
    try checkLabels(labels, rows: rows, classes: classes, shape: logits.shape, op: "crossEntropy")
    let logProbabilities = logSoftmax(lastAxisOf: logits)
    var total = 0.0
    withExtendedLifetime(logProbabilities) {
        let values = logProbabilities.storage.pointer
        for (row, label) in labels.enumerated() { total -= Double(values[row * classes + label]) }
    }
    let probabilities = mapElements(logProbabilities, ExpOfLogProbabilityKernel())
    return CrossEntropyResult(loss: rows == 0 ? .nan : Float(total / Double(rows)), probabilities: probabilities)
}

/// Backward of `crossEntropy`: d logits = (p − one_hot(labels))·gradLoss/N.
public func crossEntropyBackward(probabilities: Tensor, labels: [Int], gradLoss: Float = 1) throws -> Tensor {
    guard probabilities.rank == 2 else {
        throw TensorError.invalidShape(op: "crossEntropyBackward", shape: probabilities.shape, reason: "must be [N, C]")
    }
    let rows = probabilities.shape[0], classes = probabilities.shape[1]
    try checkLabels(labels, rows: rows, classes: classes, shape: probabilities.shape, op: "crossEntropyBackward")
    let factor = gradLoss / Float(max(rows, 1))
    let gradLogits = scale(probabilities, by: factor)
    let values = gradLogits.storage.pointer
    for (row, label) in labels.enumerated() { values[row * classes + label] -= factor }
    return gradLogits
}

/// e^x for log-probabilities (x ≤ 0).
private struct ExpOfLogProbabilityKernel: UnaryLaneKernel {
    @inline(__always) func callAsFunction(_ x: FloatVector) -> FloatVector { vectorExpNonPositive(x) }
}
