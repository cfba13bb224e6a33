import ArgumentParser
import Foundation
import Models

/// The model-choosing flags every model command takes, spelled as the reference's scripts spell them.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("vision-model"), help: "Vision tower: \(ModelRegistry.visionModels.joined(separator: ", ")).")
    var visionModel = "ViT-B-16"

    @Option(name: .customLong("text-model"), help: "Text tower: \(ModelRegistry.textModels.joined(separator: ", ")).")
    var textModel = "RoBERTa-wwm-ext-base-chinese"

    @Option(name: .customLong("model-config"),
            help: "A merged vision+text config JSON (the reference's format); it decides the architecture and the two names only label the run.")
    var modelConfig: String?

    /// The merged config: from `--model-config` when given, else the registry's `vision@text`.
    func config() throws -> ModelConfig {
        if let modelConfig { return try ModelRegistry.config(contentsOf: URL(fileURLWithPath: modelConfig)) }
        return try ModelRegistry.config(vision: visionModel, text: textModel)
    }

    /// The merged config, unless `checkpoint` names a Hugging Face model directory: then its `config.json`'s.
    func config(checkpoint: String?) throws -> ModelConfig {
        if let checkpoint, HFModelDirectory.isDirectory(URL(fileURLWithPath: checkpoint)) {
            return try HFModelDirectory.config(at: URL(fileURLWithPath: checkpoint))
        }
        return try config()
    }
}

/// Options of commands that load a checkpoint.
struct CheckpointOptions: ParsableArguments {
    @Option(name: .long, help: "Checkpoint to load (.pt as the reference writes it, or .safetensors), or a Hugging Face ChineseCLIP model directory (its config.json then decides the architecture).")
    var resume: String

    /// The checkpoint URL, checked to exist so the error names the path.
    func url() throws -> URL {
        guard FileManager.default.fileExists(atPath: resume) else {
            throw ValidationError("checkpoint not found: \(resume)")
        }
        return URL(fileURLWithPath: resume)
    }
}

/// One JSON line `{"<key>": "<name>", "feature": [floats]}` with floats as Python's repr of the fp32 value.
func featureLine(key: String, name: String, feature: ArraySlice<Float>) throws -> String {
    let quoted = try JSONSerialization.data(withJSONObject: [name], options: [.fragmentsAllowed, .withoutEscapingSlashes])
    let nameJSON = String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
    let values = feature.map { Double($0).description }.joined(separator: ", ")
    return "{\"\(key)\": \(nameJSON), \"feature\": [\(values)]}"
}
