import Distributed
import Layers
import Tensor

/// How a training step spans the ranks of a process group, as the reference's DDP training does (REFERENCE §6.3,
/// §6.12): every rank forwards its own slice of the global batch, the features of all ranks are all-gathered for
/// the contrastive loss, and after backward the gradients are averaged over the ranks (DDP) before the identical
/// AdamW step on every rank. With a group of one every operation here is the identity.
public struct DataParallel: Sendable {
    /// The process group (a group of one for a plain run).
    public let group: Communicator
    /// `--gather-with-grad`: gather differentiably (plain rank order); otherwise local rows first and gathered
    /// copies without gradient.
    public let gatherWithGrad: Bool
    /// Not `--skip-aggregate`: the loss spans every rank's features (otherwise each rank's own batch only).
    public let aggregate: Bool

    /// Gradient bucket size (DDP's `bucket_cap_mb`, 25 MB by default) and the first, smaller bucket's (DDP: 1 MB).
    public let bucketBytes: Int, firstBucketBytes: Int

    public init(group: Communicator, gatherWithGrad: Bool = false, aggregate: Bool = true,
                bucketBytes: Int = 25 << 20, firstBucketBytes: Int = 1 << 20) {
        self.group = group
        self.gatherWithGrad = gatherWithGrad
        self.aggregate = aggregate
        self.bucketBytes = bucketBytes
        self.firstBucketBytes = firstBucketBytes
    }

    /// The group of one: a single process.
    public static var singleProcess: DataParallel { DataParallel(group: SingleProcessCommunicator()) }

    /// The reference's `get_loss` over this rank's normalised features `[n, d]` (the same n on every rank), with the
    /// gradients of this rank's rows.
    ///
    /// Default: rows = local, then every other rank in rank order; the gradient reaches only the local rows. With
    /// `gatherWithGrad` rows are in plain rank order, and the gradient of this rank's rows is the sum over ranks of
    /// each rank's loss gradient (torch's all_gather backward, a reduce-scatter): every rank computes the same
    /// loss over the same rows, so that sum is `worldSize` × this rank's own gradient. Combined with DDP's average,
    /// `gatherWithGrad` gives exactly the gradient of one process over the whole global batch, and the default
    /// gives the tower gradients divided by the world size (logit_scale's in full), as in the reference.
    func loss(imageFeatures: Tensor, textFeatures: Tensor, logitScale: Float) throws -> ContrastiveLossResult {
        guard group.isDistributed, aggregate else {
            return try ContrastiveLoss.compute(imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: logitScale)
        }
        let rows = imageFeatures.shape[0]
        let images = try gathered(imageFeatures), texts = try gathered(textFeatures)
        if gatherWithGrad {
            let full = try ContrastiveLoss.compute(imageFeatures: images, textFeatures: texts, logitScale: logitScale)
            let mine = (group.rank * rows)..<((group.rank + 1) * rows)
            let copies = Float(group.worldSize)
            return ContrastiveLossResult(
                loss: full.loss, imageToTextAccuracy: full.imageToTextAccuracy, textToImageAccuracy: full.textToImageAccuracy,
                gradImageFeatures: try scale(full.gradImageFeatures.sliced(axis: 0, range: mine).contiguous(), by: copies),
                gradTextFeatures: try scale(full.gradTextFeatures.sliced(axis: 0, range: mine).contiguous(), by: copies),
                gradLogitScale: full.gradLogitScale)
        }
        return try ContrastiveLoss.compute(imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: logitScale,
                                           gatheredImageFeatures: try others(images, rows: rows),
                                           gatheredTextFeatures: try others(texts, rows: rows))
    }

    /// The ranks as SyncBatchNorm's replicas: per-channel statistics summed over the group.
    var batchNormReplicas: any ReplicaSum { GroupReplicaSum(group: group) }

    /// Every rank's `features` `[n, d]` stacked in rank order `[worldSize·n, d]`.
    func gathered(_ features: Tensor) throws -> Tensor {
        let local = features.contiguous()
        let result = Tensor(zeros: [local.shape[0] * group.worldSize] + Array(local.shape.dropFirst()))
        try withExtendedLifetime(local) {
            try group.allGather(UnsafeBufferPointer(start: local.storage.pointer + local.offset, count: local.count),
                                into: UnsafeMutableBufferPointer(start: result.storage.pointer, count: result.count))
        }
        return result
    }

    /// The rows of every rank but this one, in rank order.
    private func others(_ all: Tensor, rows: Int) throws -> Tensor {
        let width = all.shape[1]
        let result = Tensor(zeros: [rows * (group.worldSize - 1), width])
        var destination = result.storage.pointer
        for other in 0..<group.worldSize where other != group.rank {
            destination.update(from: all.storage.pointer + other * rows * width, count: rows * width)
            destination += rows * width
        }
        return result
    }
}

/// SyncBatchNorm's cross-rank sums over a process group (the identity in a group of one).
private struct GroupReplicaSum: ReplicaSum {
    let group: Communicator

    func sumAcrossReplicas(_ values: UnsafeMutableBufferPointer<Double>) throws {
        guard group.isDistributed else { return }
        try group.allReduceSum(values)
    }
}
