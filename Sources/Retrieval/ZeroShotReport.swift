import Dataset
import Foundation
import Layers
import Models

/// The file the reference's zero-shot script writes, `<save-dir>/<dataset>.json`: one line, no newline, key order
/// and values as it writes them, every probability rounded to 6 decimals (Python `round`) and printed as Python's
/// float repr (its `json_prec_dump`).
public struct ZeroShotReport: Sendable {
    /// `CN-CLIP-<vision model name>`.
    public let modelName: String
    /// The `--dataset` name.
    public let datasetName: String
    /// Elements of all the model's parameters (`sum(p.numel() for p in model.parameters())`; buffers excluded).
    public let parameterCount: Int
    /// Elements of the vision tower's parameters.
    public let visualParameterCount: Int
    /// The prediction rows written.
    public let predictions: ZeroShotPredictions

    /// A report for `model` run under the vision tower name `visionModel` on dataset `dataset`.
    public init(visionModel: String, dataset: String, model: CLIPModel, predictions: ZeroShotPredictions) {
        modelName = "CN-CLIP-" + visionModel
        datasetName = dataset
        parameterCount = Self.parameterCount(model.stateEntries())
        visualParameterCount = Self.parameterCount(model.visual.stateEntries(prefix: "visual"))
        self.predictions = predictions
    }

    /// Elements of the entries that are parameters (BatchNorm running statistics are buffers and do not count).
    public static func parameterCount(_ entries: [StateEntry]) -> Int {
        entries.filter { $0.kind == .parameter }.reduce(0) { $0 + $1.tensor.count }
    }

    /// `os.path.join(saveDir, dataset + ".json")`, where the reference writes the report.
    public static func path(saveDir: String, dataset: String) -> String { joinedPath(saveDir, dataset + ".json") }

    /// The file's text.
    public var json: String {
        var header = PythonDict()
        header.set(.string("model_name"), .string(modelName))
        header.set(.string("dataset_name"), .string(datasetName))
        header.set(.string("num_trainable_params"), .int(0))
        header.set(.string("num_params"), .int(Int64(parameterCount)))
        header.set(.string("num_visual_params"), .int(Int64(visualParameterCount)))
        header.set(.string("num_backbone_params"), .int(Int64(parameterCount)))
        header.set(.string("n_shot"), .int(0))
        header.set(.string("rnd_seeds"), .list([.int(123)]))
        var text = PythonValue.dict(header).jsonDumps
        text.removeLast()
        text += ", \"predictions\": [["
        for row in 0..<predictions.count {
            if row > 0 { text += ", " }
            text += "["
            for (column, value) in predictions.probabilities(ofRow: row).enumerated() {
                if column > 0 { text += ", " }
                text += roundedJSONNumber(Double(value))
            }
            text += "]"
        }
        return text + "]]}"
    }

    /// Writes `json` atomically to `path(saveDir:dataset:)` and returns that path.
    /// - Throws: `DatasetError.unreadableFile` naming the path when it cannot be written.
    @discardableResult
    public func write(saveDir: String) throws -> String {
        let path = Self.path(saveDir: saveDir, dataset: datasetName)
        try AtomicFile.write(Data(json.utf8), to: path)
        return path
    }
}

/// A float as `json.dumps(json.loads(json.dumps(x), parse_float=lambda x: round(float(x), 6)))` writes it.
private func roundedJSONNumber(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
    return pythonRepr(pythonRound(value, digits: 6))
}
