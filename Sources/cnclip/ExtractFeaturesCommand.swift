import ArgumentParser
import Dataset
import Distributed
import Foundation
import Models
import Retrieval

/// `cnclip extract-features`: the reference's `cn_clip/eval/extract_features.py`, on the CPU.
struct ExtractFeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-features",
        abstract: "Write L2-normalised text and/or image features as JSONL, as extract_features.py does.",
        discussion: """
            Texts are encoded first (file order), then the images of the LMDB (key order). --precision amp and fp32 \
            both mean exact fp32 weights and fp32 inference, as in the reference; fp16 rounds the weights the \
            reference keeps in fp16 but still computes in fp32 (the reference computes in fp16 on a GPU). \
            Outputs appear only when every requested feature was written (temporary files, renamed at the end). \
            Under `mpirun -np N` the batches are shared out over the ranks (batch b on rank b mod N) and rank 0 \
            writes the same file, byte for byte, as one process; every rank reads the data and checkpoint paths.
            """
    )

    @Flag(name: .customLong("extract-image-feats"), help: "Extract image features.")
    var extractImageFeatures = false

    @Flag(name: .customLong("extract-text-feats"), help: "Extract text features.")
    var extractTextFeatures = false

    @Option(name: .customLong("image-data"), help: "The imgs LMDB directory of the split.")
    var imageData = "../Multimodal_Retrieval/lmdb/test/imgs"

    @Option(name: .customLong("text-data"), help: "The text JSONL file ({\"text_id\": …, \"text\": …} per line).")
    var textData = "../Multimodal_Retrieval/test_texts.jsonl"

    @Option(name: .customLong("image-feat-output-path"),
            help: "Image feature output (default: --text-data with _texts.jsonl replaced by _imgs, + .img_feat.jsonl).")
    var imageFeatureOutputPath: String?

    @Option(name: .customLong("text-feat-output-path"),
            help: "Text feature output (default: --text-data minus its last 6 characters, + .txt_feat.jsonl).")
    var textFeatureOutputPath: String?

    @Option(name: .customLong("img-batch-size"), help: "Image batch size.")
    var imageBatchSize = 64

    @Option(name: .customLong("text-batch-size"), help: "Text batch size.")
    var textBatchSize = 64

    @Option(name: .customLong("context-length"), help: "Maximum text length in tokens, [CLS] and [SEP] included.")
    var contextLength = 52

    @Option(name: .long, help: "amp, fp16 or fp32 (amp = fp32, as in the reference); bf16 or int8 linear layers (ours).")
    var precision = "amp"

    @Flag(name: .long, help: "Report progress after every batch on stderr (default: at most once a second).")
    var debug = false

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions

    func validate() throws {
        guard extractImageFeatures || extractTextFeatures else {
            throw ValidationError("--extract-image-feats and --extract-text-feats cannot both be False!")
        }
        guard ["amp", "fp16", "fp32", "bf16", "int8"].contains(precision) else {
            throw ValidationError("--precision must be one of amp, fp16, fp32, bf16, int8")
        }
        guard imageBatchSize > 0, textBatchSize > 0 else { throw ValidationError("batch sizes must be positive") }
        guard (2...512).contains(contextLength) else { throw ValidationError("--context-length must be within 2...512") }
    }

    func run() throws {
        let group = try ProcessGroup.join()
        try ProcessGroup.run(group) { try run(group: group) }
    }

    private func run(group: Communicator) throws {
        // Rank 0 prints the reference's lines and writes the files; the other ranks only compute.
        let primary = group.isPrimary
        func print(_ line: String) { if primary { Swift.print(line) } }
        if primary { printParams() }
        let config = try model.config(checkpoint: checkpoint.resume)
        if let path = model.modelConfig {
            print("Loading model config from \(path)")
        } else {
            print("Loading vision model config from \(try ModelRegistry.towerConfigURL(model.visionModel).path)")
            print("Loading text model config from \(try ModelRegistry.towerConfigURL(model.textModel).path)")
        }
        var texts: [EvalText] = []
        var imageCount = 0
        if extractImageFeatures {
            print("Preparing image inference dataset.")
            imageCount = try LMDBImagesReader(path: imageData).count
        }
        if extractTextFeatures {
            print("Preparing text inference dataset.")
            texts = try EvalText.readAll(path: textData)
        }
        // Opened before the model loads, so an unwritable output fails fast; renamed into place only at the end.
        let textWriter = try extractTextFeatures && primary ? FeatureJSONLWriter(path: textOutputPath, kind: .text) : nil
        let imageWriter = try extractImageFeatures && primary ? FeatureJSONLWriter(path: imageOutputPath, kind: .image) : nil
        print("Begin to load model checkpoint from \(checkpoint.resume).")
        let loaded = try loadModel(config: config, checkpoint: checkpoint.url(),
                                   weightPrecision: precision == "fp16" ? .roundedToHalf : .exact,
                                   precision: PrecisionOptions.engine(forReferenceValue: precision))
        print("=> loaded checkpoint '\(checkpoint.resume)' (epoch \(loaded.epoch.map(String.init) ?? "None") "
              + "@ \(loaded.step.map(String.init) ?? "None") steps)")
        let extractor = FeatureExtractor(loaded)
        let progressOutput: (String) -> Void = primary ? { printToStandardError($0) } : { _ in }
        if extractTextFeatures {
            print("Make inference for texts...")
            let meter = ProgressMeter(label: "texts", total: texts.count, interval: progressInterval,
                                      output: progressOutput)
            let count = try extractor.extractTexts(texts, batchSize: textBatchSize, contextLength: contextLength,
                                                   group: group, into: textWriter, progress: { meter.update(done: $0) })
            meter.finish()
            print("\(count) text features are stored in \(textOutputPath)")
        }
        if extractImageFeatures {
            print("Make inference for images...")
            let meter = ProgressMeter(label: "images", total: imageCount, interval: progressInterval,
                                      output: progressOutput)
            let count = try extractor.extractImages(
                lmdbPath: imageData, batchSize: imageBatchSize, group: group, into: imageWriter,
                warning: { printToStandardError("warning: \($0)") }, progress: { done, _ in meter.update(done: done) })
            meter.finish()
            print("\(count) image features are stored in \(imageOutputPath)")
        }
        try textWriter?.finish()
        try imageWriter?.finish()
        print("Done!")
    }

    private var progressInterval: Double { debug ? 0 : 1 }

    /// `--text-data` minus its last 6 characters, + `.txt_feat.jsonl` (Python slicing: `[:-6]`).
    var textOutputPath: String {
        textFeatureOutputPath ?? String(String.UnicodeScalarView(textData.unicodeScalars.dropLast(6))) + ".txt_feat.jsonl"
    }

    /// `--text-data` with every `_texts.jsonl` replaced by `_imgs`, + `.img_feat.jsonl` (even for image-only runs).
    var imageOutputPath: String {
        imageFeatureOutputPath ?? textData.replacingOccurrences(of: "_texts.jsonl", with: "_imgs") + ".img_feat.jsonl"
    }

    /// `Params:` and every flag as `  name: value`, sorted by name, Python-style (`True`, `None`).
    private func printParams() {
        func show(_ value: String?) -> String { value ?? "None" }
        var params: [(String, String)] = [
            ("context_length", String(contextLength)), ("debug", debug ? "True" : "False"),
            ("extract_image_feats", extractImageFeatures ? "True" : "False"),
            ("extract_text_feats", extractTextFeatures ? "True" : "False"), ("image_data", imageData),
            ("image_feat_output_path", show(imageFeatureOutputPath)), ("img_batch_size", String(imageBatchSize)),
            ("precision", precision), ("resume", checkpoint.resume), ("text_batch_size", String(textBatchSize)),
            ("text_data", textData), ("text_feat_output_path", show(textFeatureOutputPath)),
            ("text_model", model.textModel), ("vision_model", model.visionModel),
        ]
        if let path = model.modelConfig { params.append(("model_config", path)) }
        print("Params:")
        for (name, value) in params.sorted(by: { $0.0 < $1.0 }) { print("  \(name): \(value)") }
    }
}

/// Writes one line to stderr (progress and warnings; stdout carries the reference's lines).
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
