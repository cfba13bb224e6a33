import ArgumentParser
import Foundation
import Models
import ONNXExport

/// `cnclip export-onnx`: the image and text towers as two ONNX files with a dynamic batch axis.
struct ExportONNXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export the image and text towers as ONNX files (opset 17, dynamic batch) for ONNX Runtime.",
        discussion: """
            Writes vision.onnx (input "image" [batch, 3, R, R], preprocessed as encode-image does; output \
            "image_features") and text.onnx (input "input_ids" int64 [batch, sequence] as the tokenizer gives them, \
            0 = padding; output "text_features"). Features are unnormalised, as the model's encode_image / \
            encode_text. Weights above ~1.8 GB per tower go to an external data file beside it (<file>.data).
            """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions

    @Option(name: .customLong("output-dir"), help: "Directory to write vision.onnx and text.onnx into.")
    var outputDir: String

    @Flag(name: .customLong("fp16"), help: "Store the weights in fp16 (cast to fp32 inside the graph).")
    var half = false

    @Option(name: .customLong("external-data-threshold"), help: .hidden)
    var externalDataThreshold = 1_800_000_000

    func run() throws {
        let loaded = try CLIPModel.load(config: model.config(checkpoint: checkpoint.resume), checkpoint: checkpoint.url())
        let written = try ONNXExport.export(loaded.model, to: URL(fileURLWithPath: outputDir),
                                            options: .init(halfWeights: half, externalDataThreshold: externalDataThreshold))
        let summary: [String: Any] = ["vision": written.vision.path, "text": written.text.path,
                                      "external_data": written.dataFiles.map(\.path), "fp16": half]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: json, as: UTF8.self))
    }
}
