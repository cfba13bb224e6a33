import Foundation
import Models
import Tensor

/// The ModifiedResNet (RN50) image tower as ONNX nodes: the three-convolution stem, Bottleneck stages that
/// downsample with average pools, and the attention pool whose mean token gives the features. BatchNorm runs in
/// inference form (`BatchNormalization` with the running statistics, eps 1e-5).
enum ResNetGraph {
    static func build(_ g: ONNXGraphBuilder, model: CLIPModel, input: String) throws -> String {
        guard case let .resnet(layers) = model.config.vision else {
            throw ONNXExportError.unsupportedModel("not a ModifiedResNet vision tower")
        }
        let weights = ExportWeights(tensors: Dictionary(model.stateEntries().map { ($0.name, $0.tensor) }) { a, _ in a })
        var x = input
        for (index, stride) in [2, 1, 1].enumerated() {
            x = try convBN(g, x, "visual.conv\(index + 1)", "visual.bn\(index + 1)", kernel: 3, stride: stride, padding: 1,
                           relu: true, weights)
        }
        x = averagePool(g, x, 2)
        for (stageIndex, blocks) in layers.enumerated() {
            for blockIndex in 0..<max(blocks, 1) {
                x = try bottleneck(g, x, "visual.layer\(stageIndex + 1).\(blockIndex)",
                                   stride: stageIndex > 0 && blockIndex == 0 ? 2 : 1, weights)
            }
        }
        return try attentionPool(g, x, model: model, weights)
    }

    private static func convBN(_ g: ONNXGraphBuilder, _ x: String, _ conv: String, _ norm: String, kernel: Int,
                               stride: Int, padding: Int, relu: Bool, _ weights: ExportWeights) throws -> String {
        let kernelTensor = try weights(conv + ".weight")
        let p = Int64(padding)
        var y = g.op("Conv", [x, g.weight(conv + ".weight", kernelTensor.toArray(), shape: kernelTensor.shape)],
                     [ONNXGraphBuilder.ints("kernel_shape", [Int64(kernel), Int64(kernel)]),
                      ONNXGraphBuilder.ints("strides", [Int64(stride), Int64(stride)]),
                      ONNXGraphBuilder.ints("pads", [p, p, p, p])], hint: "conv")
        let parts = try ["weight", "bias", "running_mean", "running_var"].map { part -> String in
            let tensor = try weights("\(norm).\(part)")
            return g.weight("\(norm).\(part)", tensor.toArray(), shape: tensor.shape)
        }
        y = g.op("BatchNormalization", [y] + parts, [ONNXGraphBuilder.float("epsilon", 1e-5)], hint: "batchnorm")
        return relu ? g.op("Relu", [y]) : y
    }

    private static func averagePool(_ g: ONNXGraphBuilder, _ x: String, _ size: Int) -> String {
        g.op("AveragePool", [x], [ONNXGraphBuilder.ints("kernel_shape", [Int64(size), Int64(size)]),
                                  ONNXGraphBuilder.ints("strides", [Int64(size), Int64(size)])], hint: "avgpool")
    }

    private static func bottleneck(_ g: ONNXGraphBuilder, _ x: String, _ prefix: String, stride: Int,
                                   _ weights: ExportWeights) throws -> String {
        var out = try convBN(g, x, prefix + ".conv1", prefix + ".bn1", kernel: 1, stride: 1, padding: 0, relu: true, weights)
        out = try convBN(g, out, prefix + ".conv2", prefix + ".bn2", kernel: 3, stride: 1, padding: 1, relu: true, weights)
        if stride > 1 { out = averagePool(g, out, stride) }
        out = try convBN(g, out, prefix + ".conv3", prefix + ".bn3", kernel: 1, stride: 1, padding: 0, relu: false, weights)
        var identity = x
        if weights.tensors[prefix + ".downsample.0.weight"] != nil {
            if stride > 1 { identity = averagePool(g, identity, stride) }
            identity = try convBN(g, identity, prefix + ".downsample.0", prefix + ".downsample.1", kernel: 1, stride: 1,
                                  padding: 0, relu: false, weights)
        }
        return g.op("Relu", [g.op("Add", [out, identity], hint: "residual")], hint: "block")
    }

    private static func attentionPool(_ g: ONNXGraphBuilder, _ x: String, model: CLIPModel,
                                      _ weights: ExportWeights) throws -> String {
        let width = model.config.visionWidth * 32
        let flat = g.op("Reshape", [x, g.int64Constant([0, Int64(width), -1], shape: [3], hint: "map_shape")])
        let sequence = g.op("Transpose", [flat], [ONNXGraphBuilder.ints("perm", [0, 2, 1])], hint: "map_tokens")
        let mean = g.op("ReduceMean", [sequence], [ONNXGraphBuilder.ints("axes", [1]), ONNXGraphBuilder.int("keepdims", 1)],
                        hint: "mean_token")
        let positions = try weights("visual.attnpool.positional_embedding")
        let tokens = g.op("Add", [g.op("Concat", [mean, sequence], [ONNXGraphBuilder.int("axis", 1)]),
                                  g.weight("visual.attnpool.positional_embedding", positions.toArray(), shape: positions.shape)],
                          hint: "pool_tokens")
        let q = try g.linear(tokens, "visual.attnpool.q_proj", weights)
        let k = try g.linear(tokens, "visual.attnpool.k_proj", weights)
        let v = try g.linear(tokens, "visual.attnpool.v_proj", weights)
        let attended = g.attention(q: q, k: k, v: v, width: width, heads: model.config.visionHeads, mask: nil)
        return try g.linear(g.firstToken(attended), "visual.attnpool.c_proj", weights)
    }
}
