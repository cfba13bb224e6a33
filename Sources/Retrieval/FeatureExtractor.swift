import Dataset
import Foundation
import Imaging
import Models
import Tensor
import Tokenizer

/// `extract_features.py`'s inference loops: L2-normalised text features of a JSONL file (file order) and image
/// features of an `imgs` LMDB (key order), written as feature JSONL lines. Decoding and tokenisation run on a
/// prefetching thread while the model encodes the previous batch; the gallery is streamed, one batch at a time.
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
        let tokenizer = self.tokenizer
        let size = max(batchSize, 1)
        let batches = Prefetcher<TextBatch>(capacity: 2) { emit in
            for start in stride(from: 0, to: texts.count, by: size) {
                let batch = texts[start..<min(start + size, texts.count)]
                let tokens = try tokenizer.tokenize(batch.map { preprocessText($0.text) }, contextLength: contextLength)
                guard emit(TextBatch(ids: batch.map(\.id), tokens: tokens)) else { return }
            }
        }
        var written = 0
        while let batch = try batches.next() {
            try write(try model.encodeText(batch.tokens), ids: batch.ids, to: writer)
            written += batch.ids.count
            progress(written)
        }
        return written
    }

    /// Encodes the first `num_images` images of an `imgs` LMDB in key order, as the reference's cursor walks them,
    /// in batches of `batchSize`, writing one line per image. A value that is not base64 or not a decodable image,
    /// or fewer images than `num_images`, is an error naming the LMDB and key. `warning` gets Pillow-compatibility
    /// notes (on the prefetching thread); `progress` gets (done, total) after each batch. Returns the count written.
    public func extractImages(lmdbPath: String, batchSize: Int, into writer: FeatureJSONLWriter,
                              warning: @escaping @Sendable (String) -> Void = { _ in },
                              progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let total = try LMDBImagesReader(path: lmdbPath).count
        let preprocessor = self.preprocessor
        let batches = Prefetcher<ImageBatch>(capacity: 2) { emit in
            try Self.produceImageBatches(lmdbPath: lmdbPath, total: total, batchSize: max(batchSize, 1),
                                         preprocessor: preprocessor, warning: warning, emit: emit)
        }
        var written = 0
        while let batch = try batches.next() {
            try write(try model.encodeImage(batch.images), ids: batch.ids, to: writer)
            written += batch.ids.count
            progress(written, total)
        }
        return written
    }

    /// Decodes and preprocesses images into `[n, 3, R, R]` batches on the prefetching thread.
    private static func produceImageBatches(lmdbPath: String, total: Int, batchSize: Int, preprocessor: ImagePreprocessor,
                                            warning: (String) -> Void, emit: (ImageBatch) -> Bool) throws {
        let reader = try LMDBImagesReader(path: lmdbPath)
        let resolution = preprocessor.resolution
        let plane = 3 * resolution * resolution
        func newBatch(remaining: Int) -> Tensor { Tensor(zeros: [min(batchSize, remaining), 3, resolution, resolution]) }
        var images = newBatch(remaining: total)
        var ids: [Int64] = []
        var seen = 0
        var cancelled = false
        try reader.forEachImage { id, base64 in
            guard seen < total else { return false }
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
                images = newBatch(remaining: total - seen)
            }
            return true
        }
        if !cancelled && seen < total {
            throw DatasetError.malformedValue(path: lmdbPath, key: "num_images",
                                              reason: "says \(total) images but the LMDB holds \(seen)")
        }
    }

    /// L2-normalises each feature row (`x / x.norm(dim=-1, keepdim=True)`) and writes it under its id.
    private func write(_ features: Tensor, ids: [Int64], to writer: FeatureJSONLWriter) throws {
        let values = l2Normalize(features).output.toArray()
        let width = ids.isEmpty ? 0 : values.count / ids.count
        for (row, id) in ids.enumerated() {
            try writer.write(FeatureRecord(id: id, feature: Array(values[(row * width)..<((row + 1) * width)])))
        }
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
