import Dataset
import Foundation
import Imaging
import Retrieval
import Tensor
import Tokenizer

/// One batch as the reference's loader yields it: preprocessed images `[B, 3, S, S]` and token rows `[B, L]`.
public struct TrainingBatch: Sendable {
    public let images: Tensor
    public let tokens: [[Int]]
}

/// A split of the reference's LMDB training format (`<path>/pairs`, `<path>/imgs`) read as
/// `cn_clip/training/data.py` reads it: item i is pair i mod `num_samples`, its image by `str(image_id)`, decoded
/// and preprocessed (§4.1, or with `--use-augment` on the train split §4.3), its text
/// `tokenize([_preprocess_text(text)], context_length)[0]`.
public struct LMDBTrainingSet: Sendable {
    public let path: String
    /// `train` or `val` (used in the log line).
    public let split: String
    public let pairCount: Int
    public let imageCount: Int
    public let resolution: Int
    public let contextLength: Int
    /// The training augmentation, only for the train split with `--use-augment` (validation never augments).
    public let augmentation: TrainingAugmentation?
    private let tokenizer: Tokenizer

    /// Opens the split once to check it and read its counts; `augment` applies only when `split` is `train`.
    /// - Throws: `TrainerError.missingData` when a directory is missing or lacks its count; `DatasetError` otherwise.
    public init(path: String, split: String, resolution: Int, contextLength: Int, tokenizer: Tokenizer,
                augment: Bool = false) throws {
        for directory in [path, path + "/pairs", path + "/imgs"] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TrainerError.missingData(path: directory, reason: "not a directory (expected an LMDB split with pairs/ and imgs/)")
            }
        }
        self.path = path
        self.split = split
        pairCount = try LMDBPairsReader(path: path + "/pairs").count
        imageCount = try LMDBImagesReader(path: path + "/imgs").count
        guard pairCount > 0 else { throw TrainerError.missingData(path: path + "/pairs", reason: "num_samples is 0") }
        self.resolution = resolution
        self.contextLength = contextLength
        self.tokenizer = tokenizer
        augmentation = augment && split == "train" ? TrainingAugmentation(resolution: resolution) : nil
    }

    /// The reference's log line for the split.
    public var summary: String { "\(split) LMDB file contains \(imageCount) images and \(pairCount) pairs." }

    /// The padded length: `pairCount` rounded up to a multiple of `globalBatchSize`.
    public func paddedLength(globalBatchSize: Int) -> Int {
        (pairCount + globalBatchSize - 1) / globalBatchSize * globalBatchSize
    }

    /// Loads rank `rank`'s batches of one epoch on a background thread, `prefetch` batches ahead: the dataset
    /// padded to a multiple of `batchSize × worldSize`, the sampler order for `seed + epoch`, this rank's strided
    /// slice of it, cut into consecutive batches of `batchSize` (every batch full).
    /// Augmented images draw from `augmentationRandom(seed:epoch:position:)` (position in the whole epoch's
    /// order), so a run repeats exactly and a sample is augmented alike whatever the world size.
    public func batches(batchSize: Int, seed: Int, epoch: Int, rank: Int = 0, worldSize: Int = 1,
                        prefetch: Int = 2) -> Prefetcher<TrainingBatch> {
        let order = DistributedSamplerOrder.indices(count: paddedLength(globalBatchSize: batchSize * worldSize), seed: seed,
                                                    epoch: epoch, rank: rank, worldSize: worldSize)
        let set = self
        return Prefetcher(capacity: prefetch) { emit in
            let readers = try set.openReaders()
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let batch = try set.batch(Array(order[start..<min(start + batchSize, order.count)]), readers: readers) {
                    Self.augmentationRandom(seed: seed, epoch: epoch, position: (start + $0) * worldSize + rank)
                }
                if !emit(batch) { return }
            }
        }
    }

    /// The generator for the augmentation of the sample at `position` of epoch `epoch`'s order: seeded from
    /// `--seed`, its stream from (epoch, position). (The reference's augmentation is unseeded and not repeatable.)
    public static func augmentationRandom(seed: Int, epoch: Int, position: Int) -> AugmentationRandom {
        AugmentationRandom(seed: UInt64(bitPattern: Int64(seed)),
                           stream: UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: position))
    }

    /// Readers for one thread (an LMDB read transaction belongs to its thread).
    func openReaders() throws -> (pairs: LMDBPairsReader, images: LMDBImagesReader) {
        (try LMDBPairsReader(path: path + "/pairs"), try LMDBImagesReader(path: path + "/imgs"))
    }

    /// The batch of dataset items `indices`; when augmenting, item `row` draws from `random(row)`.
    func batch(_ indices: [Int], readers: (pairs: LMDBPairsReader, images: LMDBImagesReader),
               random: ((Int) -> AugmentationRandom)? = nil) throws -> TrainingBatch {
        let plane = 3 * resolution * resolution
        let images = Tensor(zeros: [indices.count, 3, resolution, resolution])
        var tokens: [[Int]] = []
        tokens.reserveCapacity(indices.count)
        let preprocessor = ImagePreprocessor(resolution: resolution)
        for (row, index) in indices.enumerated() {
            let sample = index % pairCount
            let record = try readers.pairs.record(at: sample)
            let key = String(record.imageId)
            let text = try readers.images.base64(forKey: key)
            let bytes: Data
            switch ImageBase64.decode(Array(text.utf8)) {
            case let .success(data): bytes = data
            case let .failure(error):
                throw TrainerError.corruptRecord(path: readers.images.path, key: key, reason: "base64: \(error)")
            }
            let image: Tensor
            do {
                let name = "\(readers.images.path) key \(key)"
                if let augmentation, var generator = random?(row) {
                    image = try augmentation.tensor(fromEncoded: bytes, name: name, using: &generator).tensor
                } else {
                    image = try preprocessor.tensor(fromEncoded: bytes, name: name).tensor
                }
            } catch {
                throw TrainerError.corruptRecord(path: readers.images.path, key: key, reason: "\(error)")
            }
            image.copyElements(to: images.storage.pointer + row * plane)
            tokens.append(try tokenizer.tokenize(preprocessText(record.text), contextLength: contextLength))
        }
        return TrainingBatch(images: images, tokens: tokens)
    }
}
