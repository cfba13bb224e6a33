import Distributed
import Foundation
import Models
import Tensor

/// The totals of one validation pass (the reference's `evaluate`).
public struct ValidationResult: Sendable, Equatable {
    /// Σ loss·B / N.
    public let loss: Double
    /// Fractions (0…1) of rows whose argmax is their own pair, image→text and text→image.
    public let imageToTextAccuracy: Double
    public let textToImageAccuracy: Double
    /// N, the padded validation length.
    public let samples: Int
}

extension Trainer {
    /// Runs the model in inference mode over this rank's slice of the validation split (sampler order for epoch 0,
    /// padded to a multiple of the batch size × world size), sums the reference's four totals over the ranks, and
    /// logs progress every 100 batches and the reference's `Validation Result …` line.
    func validate(_ set: LMDBTrainingSet, epoch: Int, steps: Int) throws -> ValidationResult {
        log.info("Begin to eval on validation set (epoch \(epoch + 1) @ \(steps) steps)...")
        let batchSize = parameters.validBatchSize
        let globalBatch = batchSize * group.worldSize
        let batchCount = set.paddedLength(globalBatchSize: globalBatch) / globalBatch
        let batches = set.batches(batchSize: batchSize, seed: parameters.seed, epoch: 0, rank: group.rank,
                                  worldSize: group.worldSize)
        var lossSum = 0.0, imageCorrect = 0.0, textCorrect = 0.0
        var samples = 0, lastBatch = 0
        for index in 0..<batchCount {
            guard let batch = try batches.next() else { break }
            let rows = batch.tokens.count
            // One DDP forward pass without gradient: the first of a validation takes rank 0's BatchNorm statistics.
            let (images, texts) = try step.bufferBroadcast.forwardPass(withGradient: false) {
                (l2Normalize(try model.encodeImage(batch.images)).output, l2Normalize(try model.encodeText(batch.tokens)).output)
            }
            let result = try ContrastiveLoss.compute(imageFeatures: images, textFeatures: texts,
                                                     logitScale: model.logitScaleValue)
            lossSum += Double(result.loss) * Double(rows)
            imageCorrect += (Double(result.imageToTextAccuracy) * Double(rows)).rounded()
            textCorrect += (Double(result.textToImageAccuracy) * Double(rows)).rounded()
            samples += rows
            lastBatch = rows
            if (index + 1) % 100 == 0 { log.info("Evaluated \(index + 1)/\(batchCount) batches...") }
        }
        let totals = try group.allReduceSum([lossSum, imageCorrect, textCorrect, Double(samples)])
        let n = max(totals[3], 1)
        let result = ValidationResult(loss: totals[0] / n, imageToTextAccuracy: totals[1] / n,
                                      textToImageAccuracy: totals[2] / n, samples: Int(totals[3]))
        let logitScale = Double(model.logitScale.contiguous().toArray()[0])
        log.info("Validation Result (epoch \(epoch + 1) @ \(steps) steps) | "
                 + "Valid Loss: \(fixedDecimals(result.loss, 6)) | "
                 + "Image2Text Acc: \(fixedDecimals(result.imageToTextAccuracy * 100, 2)) | "
                 + "Text2Image Acc: \(fixedDecimals(result.textToImageAccuracy * 100, 2)) | "
                 + "logit_scale: \(fixedDecimals(logitScale, 3)) | Valid Batch Size: \(lastBatch)")
        return result
    }
}
