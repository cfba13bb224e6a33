import ArgumentParser
import Checkpoint
import Foundation
import Models
import Tokenizer
import Quantized

/// `cnclip convert IN OUT`: between `.pt` and `.safetensors`, optionally changing precision or dropping the
/// optimizer state. Prints a JSON summary of what it wrote on stdout.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint between .pt, .safetensors and Hugging Face ChineseCLIP directories, change its precision, or strip its optimizer.",
        discussion: """
            The output format follows OUT's extension (.safetensors, anything else is a torch .pt file), or with \
            --format hf is a Hugging Face ChineseCLIP model directory (config.json, model.safetensors, vocab.txt, \
            preprocessor_config.json) for a model chosen by --vision-model/--text-model/--model-config. \
            An IN that is a Hugging Face directory is written as the reference's training checkpoint \
            ({epoch 0, step 0, name, state_dict} with module.-prefixed keys). \
            A .safetensors file keeps epoch/step/name as metadata but cannot hold optimizer state: \
            use --strip-optimizer for training checkpoints. The output is written atomically.
            """
    )

    @Argument(help: "Checkpoint to read (.pt, .safetensors, or a Hugging Face ChineseCLIP directory).")
    var input: String

    @Argument(help: "File to write (.pt or .safetensors), or the directory to write with --format hf.")
    var output: String

    @Option(help: "Output format: checkpoint (by OUT's extension) or hf (a Hugging Face ChineseCLIP directory).")
    var format: OutputFormat = .checkpoint

    @Option(help: "With --format hf from a checkpoint: the vocab.txt to write (default: the bundled one the reference uses).")
    var vocab: String?

    @OptionGroup var model: ModelOptions

    @Flag(help: "Store in fp16 the tensors the reference's convert_weights makes fp16 (others stay fp32).")
    var half = false

    @Flag(name: .customLong("float"), help: "Store every fp16/bf16 tensor as fp32.")
    var toFloat = false

    @Flag(help: "Drop the optimizer state of a training checkpoint, keeping epoch, step, name and weights.")
    var stripOptimizer = false

    @Option(help: ArgumentHelp("int8: store the Linear weights as int8 codes plus per-output-channel fp32 scales "
                               + "(key_scale), for --precision int8; the model flags name which weights those are.",
                               valueName: "int8"))
    var quantize: String?

    @Flag(help: .hidden)
    var forceZip64 = false

    func validate() throws {
        if half && toFloat { throw ValidationError("--half and --float exclude each other") }
        if let quantize {
            guard quantize == "int8" else { throw ValidationError("--quantize takes int8, got \(quantize)") }
            if half || toFloat { throw ValidationError("--quantize excludes --half and --float") }
        }
    }

    /// What `convert` writes.
    enum OutputFormat: String, ExpressibleByArgument {
        case checkpoint, hf
    }

    func run() throws {
        let options = CheckpointConversion.Options(precision: half ? .half : toFloat ? .float : .keep,
                                                   stripOptimizer: stripOptimizer, forceZip64: forceZip64)
        FileHandle.standardError.write(Data("cnclip convert: \(input) -> \(output)\n".utf8))
        let inputURL = URL(fileURLWithPath: input), outputURL = URL(fileURLWithPath: output)
        if format == .hf {
            try writeHuggingFace(from: inputURL, to: outputURL, options: options)
            return
        }
        let written: Checkpoint
        if quantize != nil {
            var checkpoint = HFModelDirectory.isDirectory(inputURL)
                ? try HFModelDirectory.referenceCheckpoint(inputURL) : try Checkpoint.load(contentsOf: inputURL)
            if stripOptimizer { checkpoint.optimizer = nil }
            checkpoint.stateDict = try QuantizedCheckpoint.quantize(checkpoint.stateDict,
                                                                    for: CLIPModel(config: model.config(checkpoint: input)))
            guard checkpoint.stateDict.entries.contains(where: { $0.tensor.dtype == .int8 }) else {
                throw ValidationError("\(input) holds no Linear weight of \(model.visionModel) + \(model.textModel): "
                                      + "pass the model flags (or --model-config) of the checkpoint")
            }
            try checkpoint.write(to: outputURL, forceZip64: forceZip64)
            written = checkpoint
        } else {
            written = HFModelDirectory.isDirectory(inputURL)
                ? try CheckpointConversion.convert(HFModelDirectory.referenceCheckpoint(inputURL), to: outputURL, options: options)
                : try CheckpointConversion.convert(inputURL, to: outputURL, options: options)
        }
        let summary: [String: Any] = [
            "output": output,
            "layout": written.layout == .training ? "training" : "state_dict",
            "tensors": written.stateDict.count,
            "optimizer": written.optimizer != nil,
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// `--format hf`: the model of IN (a checkpoint for the model flags' config, or a Hugging Face directory)
    /// written as a Hugging Face directory.
    private func writeHuggingFace(from input: URL, to output: URL, options: CheckpointConversion.Options) throws {
        let config: ModelConfig, checkpoint: Checkpoint, vocabulary: Vocabulary
        if HFModelDirectory.isDirectory(input) {
            config = try HFModelDirectory.config(at: input)
            checkpoint = try HFModelDirectory.referenceCheckpoint(input)
            vocabulary = try HFModelDirectory.tokenizer(at: input, config: config).vocabulary
        } else {
            config = try model.config()
            checkpoint = try Checkpoint.load(contentsOf: input)
            vocabulary = try vocab.map { try Vocabulary(contentsOf: URL(fileURLWithPath: $0)) } ?? Vocabulary.bundled()
        }
        var stateDict = checkpoint.stateDict
        switch options.precision {
        case .keep: break
        case .half: stateDict = try ReferencePrecision.halved(stateDict)
        case .float: stateDict = try stateDict.mapTensors { _, tensor in
            tensor.dtype == .float16 || tensor.dtype == .bfloat16 ? try tensor.converted(to: .float32) : tensor
        }
        }
        try HFModelDirectory.write(stateDict, config: config, vocabulary: vocabulary, to: output)
        let summary: [String: Any] = ["output": output.path, "layout": "hf", "tensors": stateDict.count]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
