import ArgumentParser
import Checkpoint
import Foundation
import Models
import Quantized

/// `cnclip convert IN OUT`: between `.pt` and `.safetensors`, optionally changing precision or dropping the
/// optimizer state. Prints a JSON summary of what it wrote on stdout.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint between .pt and .safetensors, change its precision, or strip its optimizer.",
        discussion: """
            The output format follows OUT's extension (.safetensors, anything else is a torch .pt file). \
            A .safetensors file keeps epoch/step/name as metadata but cannot hold optimizer state: \
            use --strip-optimizer for training checkpoints. The output is written atomically.
            """
    )

    @Argument(help: "Checkpoint to read (.pt or .safetensors).")
    var input: String

    @Argument(help: "File to write (.pt or .safetensors).")
    var output: String

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

    @OptionGroup var model: ModelOptions

    @Flag(help: .hidden)
    var forceZip64 = false

    func validate() throws {
        if half && toFloat { throw ValidationError("--half and --float exclude each other") }
        if let quantize {
            guard quantize == "int8" else { throw ValidationError("--quantize takes int8, got \(quantize)") }
            if half || toFloat { throw ValidationError("--quantize excludes --half and --float") }
        }
    }

    func run() throws {
        let options = CheckpointConversion.Options(precision: half ? .half : toFloat ? .float : .keep,
                                                   stripOptimizer: stripOptimizer, forceZip64: forceZip64)
        FileHandle.standardError.write(Data("cnclip convert: \(input) -> \(output)\n".utf8))
        let written: Checkpoint
        if quantize != nil {
            var checkpoint = try Checkpoint.load(contentsOf: URL(fileURLWithPath: input))
            if stripOptimizer { checkpoint.optimizer = nil }
            checkpoint.stateDict = try QuantizedCheckpoint.quantize(checkpoint.stateDict,
                                                                    for: CLIPModel(config: model.config()))
            guard checkpoint.stateDict.entries.contains(where: { $0.tensor.dtype == .int8 }) else {
                throw ValidationError("\(input) holds no Linear weight of \(model.visionModel) + \(model.textModel): "
                                      + "pass the model flags (or --model-config) of the checkpoint")
            }
            try checkpoint.write(to: URL(fileURLWithPath: output), forceZip64: forceZip64)
            written = checkpoint
        } else {
            written = try CheckpointConversion.convert(URL(fileURLWithPath: input), to: URL(fileURLWithPath: output),
                                                       options: options)
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
}
