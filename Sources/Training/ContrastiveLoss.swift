import Tensor

/// The loss, in-batch accuracies and gradients of one contrastive step (the reference's `get_loss`).
public struct ContrastiveLossResult: Sendable {
    /// (CE(logits_per_image, arange) + CE(logits_per_text, arange)) / 2.
    public let loss: Float
    /// Fraction of image rows whose highest logit (first on ties) is their own text.
    public let imageToTextAccuracy: Float
    /// Fraction of text rows whose highest logit (first on ties) is their own image.
    public let textToImageAccuracy: Float
    /// d loss / d(local normalised image features) `[n, d]`.
    public let gradImageFeatures: Tensor
    /// d loss / d(local normalised text features) `[n, d]`.
    public let gradTextFeatures: Tensor
    /// d loss / d exp(logit_scale).
    public let gradLogitScale: Float
}

/// The symmetric contrastive loss over logit-scaled cosine similarities, with labels 0..<n.
///
/// Features from other ranks (already gathered, in the reference's order: the other ranks by rank, skipping
/// this one) go after the local rows and carry no gradient, as the reference's default `aggregate` path with an
/// all-gather does; without them this is a single process's loss.
public enum ContrastiveLoss {
    /// Computes the loss and its gradients. `imageFeatures`/`textFeatures` are the local normalised features
    /// `[n, d]`; `logitScale` is exp(logit_scale).
    /// - Throws: `TrainingError.shapeMismatch` when the feature blocks do not fit together.
    public static func compute(imageFeatures: Tensor, textFeatures: Tensor, logitScale: Float,
                               gatheredImageFeatures: Tensor? = nil,
                               gatheredTextFeatures: Tensor? = nil) throws -> ContrastiveLossResult {
        guard imageFeatures.rank == 2, imageFeatures.shape == textFeatures.shape else {
            throw TrainingError.shapeMismatch("image features \(imageFeatures.shape) and text features \(textFeatures.shape)")
        }
        let local = imageFeatures.shape[0]
        let images = try concatenatingRows(imageFeatures, gatheredImageFeatures)
        let texts = try concatenatingRows(textFeatures, gatheredTextFeatures)
        guard images.shape == texts.shape else {
            throw TrainingError.shapeMismatch("gathered image rows \(images.shape) and text rows \(texts.shape)")
        }
        let rows = images.shape[0]
        let labels = Array(0..<rows)
        let scaledImages = scale(images, by: logitScale)
        let logitsPerImage = try matmul(scaledImages, texts, transposeB: true)
        let logitsPerText = try logitsPerImage.transposed(0, 1).contiguous()
        let imageLoss = try crossEntropy(logits: logitsPerImage, labels: labels)
        let textLoss = try crossEntropy(logits: logitsPerText, labels: labels)
        let gradLogits = try crossEntropyBackward(probabilities: imageLoss.probabilities, labels: labels, gradLoss: 0.5)
        try addInPlace(gradLogits, crossEntropyBackward(probabilities: textLoss.probabilities, labels: labels, gradLoss: 0.5)
            .transposed(0, 1))
        let gradScaledImages = try matmul(gradLogits, texts)
        let gradTexts = try matmul(gradLogits, scaledImages, transposeA: true)
        let gradScale = try elementwiseDot(gradLogits, logitsPerImage) / logitScale
        return ContrastiveLossResult(
            loss: (imageLoss.loss + textLoss.loss) / 2,
            imageToTextAccuracy: accuracy(logitsPerImage), textToImageAccuracy: accuracy(logitsPerText),
            gradImageFeatures: try scale(gradScaledImages.sliced(axis: 0, range: 0..<local), by: logitScale),
            gradTextFeatures: try gradTexts.sliced(axis: 0, range: 0..<local).contiguous(),
            gradLogitScale: gradScale)
    }

    /// Fraction of rows of `logits` `[n, n]` whose first maximum sits on the diagonal.
    public static func accuracy(_ logits: Tensor) -> Float {
        let rows = logits.shape[0], columns = logits.shape[1]
        let values = logits.contiguous().toArray()
        var correct = 0
        for row in 0..<rows {
            var best = 0
            for column in 1..<max(columns, 1) where values[row * columns + column] > values[row * columns + best] {
                best = column
            }
            if best == row { correct += 1 }
        }
        return rows == 0 ? .nan : Float(correct) / Float(rows)
    }

    /// `local` followed by the rows of `gathered` (when given).
    private static func concatenatingRows(_ local: Tensor, _ gathered: Tensor?) throws -> Tensor {
        guard let gathered else { return local.contiguous() }
        guard gathered.rank == 2, gathered.shape[1] == local.shape[1] else {
            throw TrainingError.shapeMismatch("gathered features \(gathered.shape) next to local \(local.shape)")
        }
        let result = Tensor(zeros: [local.shape[0] + gathered.shape[0], local.shape[1]])
        local.copyElements(to: result.storage.pointer)
        gathered.copyElements(to: result.storage.pointer + local.count)
        return result
    }

    /// Σ a·b over all elements, accumulated in double.
    private static func elementwiseDot(_ a: Tensor, _ b: Tensor) throws -> Float {
        let x = a.contiguous().toArray(), y = b.contiguous().toArray()
        guard x.count == y.count else { throw TrainingError.shapeMismatch("\(a.shape) · \(b.shape)") }
        var total = 0.0
        for index in x.indices { total += Double(x[index]) * Double(y[index]) }
        return Float(total)
    }
}
