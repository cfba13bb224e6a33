import ArgumentParser
import Foundation
import Models
import Retrieval

/// `cnclip zeroshot-eval`: the reference's `cn_clip/eval/zeroshot_evaluation.py` on the CPU.
struct ZeroShotEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zeroshot-eval",
        abstract: "Zero-shot image classification of a folder dataset; prints top-1 accuracy, writes <save-dir>/<dataset>.json.",
        discussion: """
            --datapath holds one sub-folder per class (sorted names, e.g. 000, 001, …; images found recursively); line n \
            of --label-file names class n. Each class embedding averages the prompts of the template set the reference \
            picks for --dataset. An unreadable image stops the run with an error naming it (skipping it would shift the \
            prediction rows against the dataset and --index). --precision amp and fp32 use the checkpoint's values \
            exactly; fp16 rounds the weights the reference converts to fp16, then computes in fp32.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions

    @Option(name: .customLong("precision"), help: "amp, fp16 or fp32 (the reference's); bf16 or int8 linear layers (ours).")
    var precision = "amp"

    @Option(name: .customLong("label-file"), help: "Class names, one per line (label_cn.txt).")
    var labelFile: String

    @Option(name: .customLong("datapath"), help: "The dataset's test folder (one sub-folder per class).")
    var datapath: String

    @Option(name: .customLong("dataset"), help: "Dataset name: picks the template set and names the output file.")
    var dataset = "imagenet"

    @Option(name: .customLong("index"), help: "Optional JSON list of row indices that reorders the saved predictions.")
    var index = ""

    @Option(name: .customLong("save-dir"), help: "Folder of the output <dataset>.json (default: the current folder).")
    var saveDir = ""

    @Option(name: .customLong("img-batch-size"), help: "Images per forward pass.")
    var imgBatchSize = 64

    @Option(name: .customLong("context-length"), help: "Token context length of the prompts (≤ 512).")
    var contextLength = 52

    @Option(name: .customLong("num-workers"), help: "Threads decoding images (0: the main thread).")
    var numWorkers = 4

    func validate() throws {
        guard ["amp", "fp16", "fp32", "bf16", "int8"].contains(precision) else {
            throw ValidationError("--precision must be one of amp, fp16, fp32, bf16, int8 (got \(precision))")
        }
        guard imgBatchSize > 0 else { throw ValidationError("--img-batch-size must be positive") }
        guard numWorkers >= 0 else { throw ValidationError("--num-workers must not be negative") }
        guard (2...512).contains(contextLength) else { throw ValidationError("--context-length must be within 2...512") }
        var isFolder: ObjCBool = false
        guard saveDir.isEmpty || (FileManager.default.fileExists(atPath: saveDir, isDirectory: &isFolder) && isFolder.boolValue) else {
            throw ValidationError("--save-dir \(saveDir) is not an existing folder")
        }
    }

    func run() throws {
        printParams()
        let config = try model.config(checkpoint: checkpoint.resume)
        print("Loading model config: " + (model.modelConfig ?? "\(model.visionModel)@\(model.textModel)"))
        print("Preparing zeroshot dataset.")
        print(config.imageResolution)
        let data = try ImageFolderDataset(root: datapath)
        let labels = try data.labels(contentsOf: labelFile)
        let rowIndex = index.isEmpty ? nil : try ZeroShotEvaluation.index(contentsOf: index, count: data.samples.count)

        print("Begin to load model checkpoint from \(checkpoint.resume).")
        let loaded = try loadModel(config: config, checkpoint: checkpoint.url(),
                                   weightPrecision: precision == "fp16" ? .roundedToHalf : .exact,
                                   precision: PrecisionOptions.engine(forReferenceValue: precision))
        print("=> loaded checkpoint '\(checkpoint.resume)' (epoch \(loaded.epoch.map(String.init) ?? "None") "
              + "@ \(loaded.step.map(String.init) ?? "None") steps)")
        print("Building zero-shot classifier")
        let templates = try PromptTemplateSets.bundled().templates(forDataset: dataset)
        print("Using classifier")
        let classifier = try ZeroShotClassifier(model: loaded, labels: labels, templates: templates,
                                                contextLength: contextLength,
                                                progress: progressLine("classes", total: labels.count))
        var predictions = try ZeroShotEvaluation.run(
            classifier, on: data, batchSize: imgBatchSize, workers: numWorkers,
            progress: progressLine("images", total: data.samples.count),
            warning: { standardError("warning: \($0)\n") })
        if let rowIndex {
            print("Use index to rearrange the logits...")
            print("[" + rowIndex.map(String.init).joined(separator: ", ") + "]")
            predictions = try predictions.reordered(by: rowIndex)
            print(torchRepr(int64Vector: predictions.targets))
        }
        print("torch.Size([\(predictions.count), \(predictions.classCount)])")
        let report = ZeroShotReport(visionModel: model.visionModel, dataset: dataset, model: loaded.model,
                                    predictions: predictions)
        let path = try report.write(saveDir: saveDir)
        print("Result:")
        print(ZeroShotEvaluation.resultLine(top1: predictions.top1))
        print("Finished.")
        standardError("wrote \(path)\n")
    }

    /// The reference's `Params:` block: every flag by its Python name, sorted.
    private func printParams() {
        let params: [(String, String)] = [
            ("context_length", String(contextLength)), ("datapath", datapath), ("dataset", dataset),
            ("img_batch_size", String(imgBatchSize)), ("index", index), ("label_file", labelFile),
            ("model_config", model.modelConfig ?? "None"), ("num_workers", String(numWorkers)),
            ("precision", precision), ("resume", checkpoint.resume), ("save_dir", saveDir),
            ("text_model", model.textModel), ("vision_model", model.visionModel),
        ]
        print("Params:")
        for (name, value) in params { print("  \(name): \(value)") }
    }
}

/// A progress callback that rewrites one stderr line: `<what> done/total`.
private func progressLine(_ what: String, total: Int) -> (Int) -> Void {
    { done in standardError("\r\(what) \(done)/\(total)" + (done == total ? "\n" : "")) }
}

private func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
