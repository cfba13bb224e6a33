import Dataset
import Foundation
import Tensor

/// `make_topk_predictions.py` (texts query images) and `make_topk_predictions_tr.py` (images query texts): the
/// same stdout lines and the same prediction file, `{"text_id": id, "image_ids": [k ids]}` per query in query-file
/// order, ranked as the reference ranks (see `ExactTopKSearch`).
///
/// Unlike the reference, which holds the whole gallery and walks the queries one by one, this holds the queries
/// and streams the gallery file once, in blocks of `evalBatchSize` rows (at most 32768) parsed on a prefetching
/// thread. Both files are checked as they are read: a malformed line, a feature of another dimension, an empty
/// feature or a repeated id stops the run with an error naming the file and line, before anything is written.
public enum TopKPredictions {
    /// Largest gallery block, whatever `evalBatchSize` says (it only bounds memory; scores do not depend on it).
    public static let maximumBlockRows = 32_768

    /// Runs the script. `print` gets the reference's stdout lines, `progress` occasional progress lines.
    public static func run(imageFeatures: String, textFeatures: String, topK: Int, evalBatchSize: Int, output: String,
                           direction: RetrievalDirection, print: (String) -> Void,
                           progress: @escaping (String) -> Void = { _ in }) throws {
        print("Params:")
        print("  eval_batch_size: \(evalBatchSize)")
        print("  image_feats: \(imageFeatures)")
        print("  output: \(output)")
        print("  text_feats: \(textFeatures)")
        print("  top_k: \(topK)")
        let galleryName = direction == .textToImage ? "image" : "text"
        let queryName = direction == .textToImage ? "texts" : "images"
        try checkWritable(output)
        print("Begin to load \(galleryName) features...")
        let predictions = try predict(imageFeatures: imageFeatures, textFeatures: textFeatures, topK: topK,
                                      evalBatchSize: evalBatchSize, direction: direction, progress: progress)
        print("Finished loading \(galleryName) features.")
        print("Begin to compute top-\(topK) predictions for \(queryName)...")
        try AtomicFile.write(Data(predictions.utf8), to: output)
        print("Top-\(topK) predictions are saved in \(output)")
        print("Done!")
    }

    /// The prediction file's text: one `json.dumps` line per query.
    public static func predict(imageFeatures: String, textFeatures: String, topK: Int, evalBatchSize: Int,
                               direction: RetrievalDirection,
                               progress: @escaping (String) -> Void = { _ in }) throws -> String {
        let (queryPath, galleryPath) = direction == .textToImage ? (textFeatures, imageFeatures) : (imageFeatures, textFeatures)
        let queryKind: FeatureRecord.Kind = direction == .textToImage ? .text : .image
        let galleryKind: FeatureRecord.Kind = direction == .textToImage ? .image : .text
        let queryScanner = try FeatureFileScanner(path: queryPath, kind: queryKind)
        let queries = try queryScanner.readAll()
        let dimension = queryScanner.dimension
        let search = try dimension.map { try ExactTopKSearch(queries: queries.values, dimension: $0, k: max(topK, 0)) }

        let blockRows = min(max(evalBatchSize, 1), maximumBlockRows)
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: galleryPath)[.size] as? Int) ?? nil
        let source = "the dimension of the features in \(queryPath)"
        let blocks = Prefetcher<GalleryBlock>(capacity: 2) { emit in
            let scanner = try FeatureFileScanner(path: galleryPath, kind: galleryKind, dimension: dimension, source: source)
            while true {
                let block = try GalleryBlock.read(from: scanner, rows: blockRows)
                if block.ids.isEmpty || !emit(block) { return }
                if block.ids.count < blockRows { return }
            }
        }
        let meter = ProgressMeter(label: "\(galleryKind == .image ? "image" : "text") features", unit: "rows",
                                  output: progress)
        var galleryIds: [Int64] = []
        while let block = try blocks.next() {
            if let search, let values = block.values { try search.add(block: values, validRows: block.ids.count) }
            galleryIds.append(contentsOf: block.ids)
            meter.update(done: galleryIds.count, fraction: fileSize.map { Double(block.bytesRead) / Double(max($0, 1)) })
        }
        meter.finish()

        var text = ""
        let results = search?.results() ?? []
        for (query, ranked) in zip(queries.ids, results) {
            text += "{\"\(queryKind.rawValue)\": \(query), \"\(direction.predictionKey)\": ["
            text += ranked.map { String(galleryIds[$0]) }.joined(separator: ", ")
            text += "]}\n"
        }
        return text
    }

    /// Fails early, naming the path, when the output's directory is missing or not writable.
    private static func checkWritable(_ output: String) throws {
        let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        guard access(directory, W_OK) == 0 else {
            throw DatasetError.unreadableFile(file: output, reason: "cannot write into \(directory): "
                                              + String(cString: strerror(errno)))
        }
    }
}

/// Up to `rows` consecutive gallery features: ids, and a `[rows, dimension]` tensor whose first `ids.count` rows
/// hold them (nil when the dimension is unknown because there are no queries).
private struct GalleryBlock: Sendable {
    let ids: [Int64]
    let values: Tensor?
    let bytesRead: Int

    static func read(from scanner: FeatureFileScanner, rows: Int) throws -> GalleryBlock {
        var ids: [Int64] = []
        guard let dimension = scanner.dimension else {
            while ids.count < rows, let id = try scanner.next(into: nil) { ids.append(id) }
            return GalleryBlock(ids: ids, values: nil, bytesRead: scanner.bytesRead)
        }
        let values = Tensor(zeros: [rows, dimension])
        while ids.count < rows, let id = try scanner.next(into: values.storage.pointer + ids.count * dimension) {
            ids.append(id)
        }
        return GalleryBlock(ids: ids, values: values, bytesRead: scanner.bytesRead)
    }
}
