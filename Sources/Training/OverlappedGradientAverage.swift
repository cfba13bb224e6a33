import Distributed
import Layers
import Tensor

/// DDP's gradient averaging, overlapped with backward: the trainable parameters' gradients travel in buckets, and a
/// bucket's nonblocking all-reduce starts as soon as every gradient in it is final, while backward goes on with the
/// layers below; the step waits for them all before the optimizer.
///
/// As DDP does, the first step learns the buckets: it counts how many times backward adds to each gradient and in
/// which order the gradients become final, averages everything after backward, and then packs the parameters in that
/// order into buckets (the first one small, so that communication starts early; then about `bucketBytes` each). Later
/// steps start a bucket when its gradients have received their counted contributions, in bucket order on every rank
/// (MPI's rule for collectives). A step whose backward differs from the first one's (a gradient added to after its
/// bucket left) is an error, never a silently wrong average. Each value is divided by the world size before the
/// sum, as in the blocking average, so results do not depend on the buckets.
final class OverlappedGradientAverage: GradientObserver {
    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let offset: Int
        init(_ tensor: Tensor) { (storage, offset) = (ObjectIdentifier(tensor.storage), tensor.offset) }
    }

    private struct Bucket {
        let parameters: [Tensor]
        let staging: UnsafeMutableBufferPointer<Float>
    }

    private let group: Communicator
    private let gradients: GradientStore
    private let trainable: [Key: Tensor]
    private let firstBucketElements: Int, bucketElements: Int
    /// Learned at the first step: contributions per parameter, buckets in launch order.
    private var expected: [Key: Int]?
    private var buckets: [Bucket] = []
    private var bucketOf: [Key: Int] = [:]
    /// This step: contributions so far, when each parameter last changed (first step), gradients still open per bucket.
    private var counts: [Key: Int] = [:]
    private var lastChange: [Key: Int] = [:]
    private var changes = 0
    private var open: [Int] = []
    /// The parameter changed last, whose writer may still be writing into its gradient.
    private var unsettled: Key?
    /// Buckets launched so far this step (always a prefix of `buckets`) and their reductions.
    private var launched: [PendingReduction] = []
    private var failure: TrainingError?
    /// Buckets all-reduced so far, and those of them that started before backward ended.
    private(set) var bucketsReduced = 0, bucketsOverlapped = 0

    /// Averages the gradients `gradients` accumulates for `parameters` over `group`'s ranks.
    init(group: Communicator, gradients: GradientStore, parameters: [Tensor], bucketBytes: Int, firstBucketBytes: Int) {
        self.group = group
        self.gradients = gradients
        trainable = Dictionary(parameters.map { (Key($0), $0) }, uniquingKeysWith: { first, _ in first })
        bucketElements = max(1, bucketBytes / 4)
        firstBucketElements = max(1, min(firstBucketBytes, bucketBytes) / 4)
    }

    deinit {
        launched.removeAll()  // completes any reduction still writing into a staging buffer
        for bucket in buckets { bucket.staging.deallocate() }
    }

    /// Forgets this step's progress (before a step's first backward).
    func begin() {
        counts.removeAll(keepingCapacity: true)
        lastChange.removeAll(keepingCapacity: true)
        changes = 0
        unsettled = nil
        failure = nil
        for pending in launched { try? pending.wait() }
        launched.removeAll()
        open = buckets.map(\.parameters.count)
    }

    func gradientChanged(for parameter: Tensor) {
        let key = Key(parameter)
        guard trainable[key] != nil else { return }
        settle()
        counts[key, default: 0] += 1
        if expected == nil {
            lastChange[key] = changes
            changes += 1
        }
        unsettled = key
        do {
            for pending in launched { _ = try pending.test() }
        } catch {
            failure = failure ?? .distributed("testing a gradient all-reduce: \(error)")
        }
    }

    /// Leaves every gradient averaged over the ranks: launches what is left (everything at the first step) and
    /// waits for all buckets.
    /// - Throws: `TrainingError` when backward differed from the first step's, or the communication failed.
    func finish() throws {
        settle()
        if let failure { throw failure }
        if expected == nil { try plan() }
        guard let expected else { return }
        for (key, count) in counts where count != expected[key] {
            throw TrainingError.distributed("the gradient of a \(trainable[key]?.shape ?? []) parameter received \(count) "
                + "contributions in this step's backward, \(expected[key] ?? 0) in the first step's: overlapped "
                + "gradient averaging needs the same backward graph every step")
        }
        if counts.count != expected.count {
            throw TrainingError.distributed("\(expected.count - counts.count) parameters that had a gradient in the "
                + "first step got none in this one: overlapped gradient averaging needs the same backward graph every step")
        }
        bucketsOverlapped += launched.count
        bucketsReduced += buckets.count
        for index in launched.count..<buckets.count { try launch(index) }
        for (index, pending) in launched.enumerated() {
            try pending.wait()
            var start = 0
            for parameter in buckets[index].parameters {
                guard let gradient = gradients.gradient(for: parameter) else { continue }
                let count = gradient.count
                (gradient.storage.pointer + gradient.offset).update(from: buckets[index].staging.baseAddress! + start,
                                                                    count: count)
                start += count
            }
        }
        launched.removeAll()
    }

    /// Handles the change before the last one: its writer is done, so its parameter may be final, and its bucket
    /// (with any ready buckets after it) may start.
    private func settle() {
        guard let key = unsettled else { return }
        unsettled = nil
        guard let expected else { return }
        let count = counts[key] ?? 0, wanted = expected[key] ?? 0
        if count > wanted {
            failure = failure ?? .distributed("a \(trainable[key]?.shape ?? []) parameter's gradient changed after its "
                + "bucket was sent to the other ranks: this step's backward differs from the first step's")
            return
        }
        guard count == wanted, let index = bucketOf[key] else { return }
        open[index] -= 1
        do {
            while launched.count < buckets.count && open[launched.count] == 0 { try launch(launched.count) }
        } catch {
            failure = failure ?? .distributed("starting a gradient all-reduce: \(error)")
        }
    }

    /// Copies bucket `index`'s gradients, divided by the world size, into its staging buffer and starts its sum.
    private func launch(_ index: Int) throws {
        let bucket = buckets[index], scale = 1 / Float(group.worldSize)
        var start = 0
        for parameter in bucket.parameters {
            guard let gradient = gradients.gradient(for: parameter), gradient.isContiguous else {
                throw TrainingError.distributed("a parameter of shape \(parameter.shape) has no contiguous gradient to average")
            }
            let source = gradient.storage.pointer + gradient.offset
            for element in 0..<gradient.count { bucket.staging[start + element] = source[element] * scale }
            start += gradient.count
        }
        launched.append(try group.startAllReduceSum(UnsafeMutableBufferPointer(rebasing: bucket.staging[0..<start])))
    }

    /// Packs the parameters that received gradients, in the order they became final, into buckets.
    private func plan() throws {
        expected = counts
        let order = lastChange.sorted { $0.value < $1.value }.compactMap { trainable[$0.key] }
        var current: [Tensor] = [], size = 0
        func close() {
            guard !current.isEmpty else { return }
            for parameter in current { bucketOf[Key(parameter)] = buckets.count }
            buckets.append(Bucket(parameters: current, staging: .allocate(capacity: size)))
            (current, size) = ([], 0)
        }
        for parameter in order {
            let limit = buckets.isEmpty ? firstBucketElements : bucketElements
            if size > 0 && size + parameter.count > limit { close() }
            current.append(parameter)
            size += parameter.count
        }
        close()
        open = buckets.map(\.parameters.count)
    }
}
