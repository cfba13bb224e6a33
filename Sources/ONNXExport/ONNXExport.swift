import Foundation
import Models
import ONNXProto
import Tensor

/// Writes a CLIP model's two towers as ONNX files (opset 17, IR 8) with a dynamic `batch` axis (and a dynamic
/// `sequence` axis for the text): `vision.onnx` maps `image` `[batch, 3, R, R]` (preprocessed as the model's
/// `ImagePreprocessor` does) to `image_features` `[batch, embed_dim]`, and `text.onnx` maps `input_ids` int64
/// `[batch, sequence]` (as `Tokenizer.tokenize` returns them, 0 = padding) to `text_features`; both unnormalised,
/// as `encodeImage` / `encodeText`.
public enum ONNXExport {
    /// What to write.
    public struct Options: Sendable {
        /// Store the weights in fp16 (each cast to fp32 inside the graph); otherwise fp32.
        public var halfWeights: Bool
        /// Above this many bytes of weights a tower's tensors go to `<file>.data` beside it (ONNX external data);
        /// protobuf cannot hold a message of 2 GiB or more.
        public var externalDataThreshold: Int

        public init(halfWeights: Bool = false, externalDataThreshold: Int = 1_800_000_000) {
            self.halfWeights = halfWeights
            self.externalDataThreshold = externalDataThreshold
        }
    }

    /// The files of one export.
    public struct Written: Sendable {
        public let vision: URL
        public let text: URL
        /// External data files written beside them (none below the threshold).
        public let dataFiles: [URL]
    }

    /// File names inside the output directory.
    public static let visionFileName = "vision.onnx"
    public static let textFileName = "text.onnx"

    /// Exports `model` into `directory` (created if absent); each file is written atomically.
    /// - Throws: `ONNXExportError` for an unwritable directory.
    @discardableResult
    public static func export(_ model: CLIPModel, to directory: URL, options: Options = Options()) throws -> Written {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ONNXExportError.unwritableFile(path: directory.path, reason: "cannot create the directory")
        }
        let vision = directory.appendingPathComponent(visionFileName)
        let text = directory.appendingPathComponent(textFileName)
        var dataFiles: [URL] = []
        if let data = try write(visionModel(model, halfWeights: options.halfWeights), to: vision, options: options) {
            dataFiles.append(data)
        }
        if let data = try write(textModel(model, halfWeights: options.halfWeights), to: text, options: options) {
            dataFiles.append(data)
        }
        return Written(vision: vision, text: text, dataFiles: dataFiles)
    }

    /// The image tower's ONNX model.
    public static func visionModel(_ model: CLIPModel, halfWeights: Bool) throws -> Onnx_ModelProto {
        let builder = ONNXGraphBuilder(halfWeights: halfWeights)
        let config = model.config
        let (input, output) = ("image", "image_features")
        let features: String
        switch config.vision {
        case .transformer: features = try VisionTowerGraph.build(builder, model: model, input: input)
        case .resnet: features = try ResNetGraph.build(builder, model: model, input: input)
        }
        let side = config.imageResolution
        return modelProto(builder, name: "cnclip_vision", output: features, outputName: output,
                          inputs: [ONNXGraphBuilder.valueInfo(input, elemType: .float,
                                                              dims: [.symbol("batch"), .size(3), .size(side), .size(side)])],
                          outputs: [ONNXGraphBuilder.valueInfo(output, elemType: .float,
                                                               dims: [.symbol("batch"), .size(config.embedDim)])])
    }

    /// The text tower's ONNX model.
    public static func textModel(_ model: CLIPModel, halfWeights: Bool) throws -> Onnx_ModelProto {
        let builder = ONNXGraphBuilder(halfWeights: halfWeights)
        let (input, output) = ("input_ids", "text_features")
        let features = try TextTowerGraph.build(builder, model: model, input: input)
        return modelProto(builder, name: "cnclip_text", output: features, outputName: output,
                          inputs: [ONNXGraphBuilder.valueInfo(input, elemType: .int64,
                                                              dims: [.symbol("batch"), .symbol("sequence")])],
                          outputs: [ONNXGraphBuilder.valueInfo(output, elemType: .float,
                                                               dims: [.symbol("batch"), .size(model.config.embedDim)])])
    }

    private static func modelProto(_ builder: ONNXGraphBuilder, name: String, output: String, outputName: String,
                                   inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto]) -> Onnx_ModelProto {
        builder.node("Identity", [output], hint: "output")
        var nodes = builder.nodes
        nodes[nodes.count - 1].output = [outputName]
        var graph = Onnx_GraphProto()
        graph.name = name
        graph.node = nodes
        graph.initializer = builder.initializers
        graph.input = inputs
        graph.output = outputs
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = 17
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.opsetImport = [opset]
        model.producerName = "cnclip-swift"
        model.graph = graph
        return model
    }

    /// Serialises `model` to `url` atomically, moving the weights (tensors of 1 KiB or more) to `<name>.data` when
    /// they exceed the threshold;
    /// returns that data file's URL, if written.
    private static func write(_ model: Onnx_ModelProto, to url: URL, options: Options) throws -> URL? {
        var model = model
        let weightBytes = model.graph.initializer.reduce(0) { $0 + $1.rawData.count }
        var dataURL: URL?
        if weightBytes > options.externalDataThreshold {
            let location = url.lastPathComponent + ".data"
            var blob = Data()
            // Small tensors (shapes, indices, scalars) stay inline, as shape inference reads them.
            for index in model.graph.initializer.indices where model.graph.initializer[index].rawData.count >= 1024 {
                var tensor = model.graph.initializer[index]
                var offset = Onnx_StringStringEntryProto(), length = Onnx_StringStringEntryProto()
                var file = Onnx_StringStringEntryProto()
                file.key = "location"
                file.value = location
                offset.key = "offset"
                offset.value = String(blob.count)
                length.key = "length"
                length.value = String(tensor.rawData.count)
                blob.append(tensor.rawData)
                tensor.rawData = Data()
                tensor.dataLocation = .external
                tensor.externalData = [file, offset, length]
                model.graph.initializer[index] = tensor
            }
            let target = url.deletingLastPathComponent().appendingPathComponent(location)
            try writeAtomically(blob, to: target)
            dataURL = target
        }
        let bytes: Data
        do { bytes = try model.serializedData() } catch {
            throw ONNXExportError.unwritableFile(path: url.path, reason: "protobuf serialisation failed: \(error)")
        }
        try writeAtomically(bytes, to: url)
        return dataURL
    }

    private static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw ONNXExportError.unwritableFile(path: url.path, reason: error.localizedDescription)
        }
    }
}
