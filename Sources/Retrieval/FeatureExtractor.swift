import Dataset
import Distributed
import Foundation
import Imaging
import Models
import Tensor
import Tokenizer

/// `extract_features.py`'s inference loops: L2-normalised text features of a JSONL file (file order) and image
/// features of an `imgs` LMDB (key order), written as feature JSONL lines. Decoding and tokenisation run on a
/// prefetching thread while the model encodes the previous batch; the gallery is streamed, one batch at a time.
///
/// Sharded over the ranks of a process group (`mpirun`), batch b (the same batches a single process makes) is
/// encoded by rank b mod N; in each round every rank encodes one batch and rank 0 gathers the round's lines and
/// appends them in batch order, so the file is the single process's, byte for byte, and no rank holds more than
/// one round of output. Only rank 0 passes a writer.
public struct FeatureExtractor: Sendable {
    public let model: CLIPModel
    public let preprocessor: ImagePreprocessor
    public let tokenizer: Tokenizer

    public init(model: CLIPModel, preprocessor: ImagePreprocessor, tokenizer: Tokenizer) {
        self.model = model
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
    }

    /// The model, preprocessing and tokenizer of a loaded checkpoint.
    public init(_ loaded: LoadedCLIP) {
        self.init(model: loaded.model, preprocessor: loaded.preprocessor, tokenizer: loaded.tokenizer)
    }

    /// Encodes `_preprocess_text(text)` of every text in batches of `batchSize` (at least 1; the last may be short) and writes
    /// one line per text to `writer`; `progress` gets the count done after each batch. Returns the count written.
    public func extractTexts(_ texts: [EvalText], batchSize: Int, contextLength: Int, into writer: FeatureJSONLWriter,
                             progress: (Int) -> Void = { _ in }) throws -> Int {
        try extractTexts(texts, batchSize: batchSize, contextLength: contextLength, group: SingleProcessCommunicator(),
                         into: writer, progress: progress)
    }

    /// The text extraction as one rank of `group` (every rank passes the same texts; rank 0 passes the writer and
    /// returns the count written, the others return the count they encoded).
    public func extractTexts(_ texts: [EvalText], batchSize: Int, contextLength: Int, group: Communicator,
                             into writer: FeatureJSONLWriter?, progress: (Int) -> Void = { _ in }) throws -> Int {
        let tokenizer = self.tokenizer
        let size = max(batchSize, 1)
        let batchCount = (texts.count + size - 1) / size
        let (rank, world) = (group.rank, group.worldSize)
        let batches = Prefetcher<TextBatch>(capacity: 2) { emit in
            for index in stride(from: rank, to: batchCount, by: world) {
                let batch = texts[(index * size)..<min((index + 1) * size, texts.count)]
                let tokens = try tokenizer.tokenize(batch.map { preprocessText($0.text) }, contextLength: contextLength)
                guard emit(TextBatch(ids: batch.map(\.id), tokens: tokens)) else { return }
            }
        }
        return try writeRounds(batchCount: batchCount, group: group, writer: writer, kind: .text, progress: { done, _ in progress(done) }) {
            guard let batch = try batches.next() else { return nil }
            return (try model.encodeText(batch.tokens), batch.ids)
        }
    }

    /// Encodes the first `num_images` images of an `imgs` LMDB in key order, as the reference's cursor walks them,
    /// in batches of `batchSize`, writing one line per image. A value that is not base64 or not a decodable image,
    /// or fewer images than `num_images`, is an error naming the LMDB and key. `warning` gets Pillow-compatibility
    /// notes (on the prefetching thread); `progress` gets (done, total) after each batch. Returns the count written.
    public func extractImages(lmdbPath: String, batchSize: Int, into writer: FeatureJSONLWriter,
                              warning: @escaping @Sendable (String) -> Void = { _ in },
                              progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        try extractImages(lmdbPath: lmdbPath, batchSize: batchSize, group: SingleProcessCommunicator(), into: writer,
                          warning: warning, progress: progress)
    }

    /// The image extraction as one rank of `group`: every rank walks the LMDB's keys but decodes only its own
    /// batches; rank 0 passes the writer.
    public func extractImages(lmdbPath: String, batchSize: Int, group: Communicator, into writer: FeatureJSONLWriter?,
                              warning: @escaping @Sendable (String) -> Void = { _ in },
                              progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let total = try LMDBImagesReader(path: lmdbPath).count
        let preprocessor = self.preprocessor
        let size = max(batchSize, 1)
        let (rank, world) = (group.rank, group.worldSize)
        let batches = Prefetcher<ImageBatch>(capacity: 2) { emit in
            try Self.produceImageBatches(lmdbPath: lmdbPath, total: total, batchSize: size, rank: rank, worldSize: world,
                                         preprocessor: preprocessor, warning: warning, emit: emit)
        }
        return try writeRounds(batchCount: (total + size - 1) / size, group: group, writer: writer, kind: .image,
                               progress: { done, _ in progress(done, total) }) {
            guard let batch = try batches.next() else { return nil }
            return (try model.encodeImage(batch.images), batch.ids)
        }
    }

    /// Runs the rounds of a (possibly sharded) extraction: in round t this rank encodes batch t·N + rank (if it
    /// exists) with `encodeNext`, and rank 0 appends every rank's lines of the round in rank (= batch) order.
    private func writeRounds(batchCount: Int, group: Communicator, writer: FeatureJSONLWriter?, kind: FeatureRecord.Kind,
                             progress: (Int, Int) -> Void, encodeNext: () throws -> (Tensor, [Int64])?) throws -> Int {
        let world = group.worldSize
        var written = 0
        for round in 0..<((batchCount + world - 1) / world) {
            var lines: [UInt8] = []
            var rows = 0
            if round * world + group.rank < batchCount {
                guard let (features, ids) = try encodeNext() else {
                    throw DatasetError.malformedValue(path: "", key: "batch \(round * world + group.rank)",
                                                      reason: "the data ended before this rank's batch")
                }
                lines = Self.lines(features, ids: ids, kind: kind)
                rows = ids.count
            }
            if let blocks = try group.gather(lines, root: 0) {
                for block in blocks { try writer?.write(lines: block) }
                written += blocks.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
            } else {
                written += rows
            }
            progress(written, batchCount)
        }
        return written
    }

    /// Decodes and preprocesses images into `[n, 3, R, R]` batches on the prefetching thread.
    /// Only the batches of rank `rank` of `worldSize` (batch b belongs to rank b mod worldSize) are decoded and emitted.
    private static func produceImageBatches(lmdbPath: String, total: Int, batchSize: Int, rank: Int, worldSize: Int,
                                            preprocessor: ImagePreprocessor, warning: (String) -> Void,
                                            emit: (ImageBatch) -> Bool) throws {
        let reader = try LMDBImagesReader(path: lmdbPath)
        let resolution = preprocessor.resolution
        let plane = 3 * resolution * resolution
        func newBatch(remaining: Int) -> Tensor { Tensor(zeros: [min(batchSize, remaining), 3, resolution, resolution]) }
        func mine(_ position: Int) -> Bool { (position / batchSize) % worldSize == rank }
        var images = newBatch(remaining: mine(0) ? total : 0)
        var ids: [Int64] = []
        var seen = 0
        var cancelled = false
        try reader.forEachImage { id, base64 in
            guard seen < total else { return false }
            guard mine(seen) else {
                seen += 1
                if mine(seen) && seen < total { images = newBatch(remaining: total - seen) }
                return true
            }
            let key = String(id)
            let data: Data
            switch ImageBase64.decode(base64.utf8) {
            case let .success(bytes): data = bytes
            case let .failure(error):
                throw DatasetError.malformedValue(path: lmdbPath, key: key, reason: "image is not base64: \(error.reason)")
            }
            let image: PreprocessedImage
            do {
                image = try preprocessor.tensor(fromEncoded: data, name: "image \(key)", order: .resizeThenConvert)
            } catch {
                throw DatasetError.malformedValue(path: lmdbPath, key: key, reason: "\(error)")
            }
            image.warnings.forEach(warning)
            image.tensor.contiguous().copyElements(to: images.storage.pointer + ids.count * plane)
            ids.append(id)
            seen += 1
            if ids.count == images.shape[0] {
                guard emit(ImageBatch(ids: ids, images: images)) else {
                    cancelled = true
                    return false
                }
                ids = []
                images = newBatch(remaining: mine(seen) ? total - seen : 0)
            }
            return true
        }
        if !cancelled && seen < total {
            throw DatasetError.malformedValue(path: lmdbPath, key: "num_images",
                                              reason: "says \(total) images but the LMDB holds \(seen)")
        }
    }

    /// The lines of L2-normalised feature rows (`x / x.norm(dim=-1, keepdim=True)`) under their ids.
    private static func lines(_ features: Tensor, ids: [Int64], kind: FeatureRecord.Kind) -> [UInt8] {
        let values = l2Normalize(features).output.toArray()
        let width = ids.isEmpty ? 0 : values.count / ids.count
        var text = ""
        for (row, id) in ids.enumerated() {
            text += FeatureRecord(id: id, feature: Array(values[(row * width)..<((row + 1) * width)])).jsonLine(kind: kind)
            text += "\n"
        }
        return Array(text.utf8)
    }
}

/// Ids and token rows of one text batch.
private struct TextBatch: Sendable {
    let ids: [Int64]
    let tokens: [[Int]]
}

/// Ids and preprocessed pixels (`[n, 3, R, R]`) of one image batch.
private struct ImageBatch: Sendable {
    let ids: [Int64]
    let images: Tensor
}
