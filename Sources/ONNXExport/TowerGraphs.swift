import Foundation
import Models
import Tensor

/// The ViT image tower as ONNX nodes: patch convolution, class token, positions, pre-LN blocks with QuickGELU,
/// `ln_post` on the class token, projection.
enum VisionTowerGraph {
    static func build(_ g: ONNXGraphBuilder, model: CLIPModel, input: String) throws -> String {
        guard case let .transformer(layers) = model.config.vision, let patch = model.config.visionPatchSize else {
            throw ONNXExportError.unsupportedModel("not a ViT vision tower")
        }
        let weights = ExportWeights(tensors: Dictionary(model.stateEntries().map { ($0.name, $0.tensor) }) { a, _ in a })
        let width = model.config.visionWidth, heads = model.config.visionHeads
        let kernel = try weights("visual.conv1.weight")
        let patches = g.op("Conv", [input, g.weight("visual.conv1.weight", kernel.toArray(), shape: kernel.shape)],
                           [ONNXGraphBuilder.ints("kernel_shape", [Int64(patch), Int64(patch)]),
                            ONNXGraphBuilder.ints("strides", [Int64(patch), Int64(patch)])], hint: "patches")
        let flat = g.op("Reshape", [patches, g.int64Constant([0, Int64(width), -1], shape: [3], hint: "patch_shape")])
        let tokens = g.op("Transpose", [flat], [ONNXGraphBuilder.ints("perm", [0, 2, 1])], hint: "tokens")
        let batch = g.op("Shape", [input], [ONNXGraphBuilder.int("start", 0), ONNXGraphBuilder.int("end", 1)], hint: "batch")
        let classShape = g.op("Concat", [batch, g.int64Constant([1, Int64(width)], shape: [2], hint: "class_tail")],
                              [ONNXGraphBuilder.int("axis", 0)], hint: "class_shape")
        let classEmbedding = try weights("visual.class_embedding")
        let classToken = g.op("Expand", [g.weight("visual.class_embedding", classEmbedding.toArray(), shape: [1, 1, width]),
                                         classShape], hint: "class_token")
        let sequence = g.op("Concat", [classToken, tokens], [ONNXGraphBuilder.int("axis", 1)], hint: "sequence")
        let positions = try weights("visual.positional_embedding")
        var x = g.op("Add", [sequence, g.weight("visual.positional_embedding", positions.toArray(), shape: positions.shape)])
        x = try g.layerNorm(x, "visual.ln_pre", eps: 1e-5, weights)
        for index in 0..<layers {
            let prefix = "visual.transformer.resblocks.\(index)"
            let h = try g.layerNorm(x, prefix + ".ln_1", eps: 1e-5, weights)
            let packed = try splitInProjection(weights, prefix: prefix + ".attn", width: width)
            let q = try g.linear(h, prefix + ".attn.q", packed), k = try g.linear(h, prefix + ".attn.k", packed)
            let v = try g.linear(h, prefix + ".attn.v", packed)
            let attended = g.attention(q: q, k: k, v: v, width: width, heads: heads, mask: nil)
            x = g.op("Add", [x, try g.linear(attended, prefix + ".attn.out_proj", weights)], hint: "residual")
            let h2 = try g.layerNorm(x, prefix + ".ln_2", eps: 1e-5, weights)
            let mlp = try g.linear(g.quickGELU(try g.linear(h2, prefix + ".mlp.c_fc", weights)), prefix + ".mlp.c_proj", weights)
            x = g.op("Add", [x, mlp], hint: "residual")
        }
        let pooled = try g.layerNorm(g.firstToken(x), "visual.ln_post", eps: 1e-5, weights)
        return try g.matmul(pooled, matrix: "visual.proj", weights)
    }

    /// The packed `in_proj_weight [3W, W]` / `in_proj_bias [3W]` as three `Linear`s `<prefix>.q|k|v`.
    private static func splitInProjection(_ weights: ExportWeights, prefix: String, width: Int) throws -> ExportWeights {
        let weight = try weights(prefix + ".in_proj_weight").contiguous().toArray()
        let bias = try weights(prefix + ".in_proj_bias").contiguous().toArray()
        var tensors: [String: Tensor] = [:]
        for (part, name) in ["q", "k", "v"].enumerated() {
            tensors["\(prefix).\(name).weight"] = try Tensor(shape: [width, width],
                                                             data: Array(weight[(part * width * width)..<((part + 1) * width * width)]))
            tensors["\(prefix).\(name).bias"] = try Tensor(shape: [width], data: Array(bias[(part * width)..<((part + 1) * width)]))
        }
        return ExportWeights(tensors: tensors)
    }
}

/// The BERT text tower as ONNX nodes: embeddings (word + position + token type 0), post-LN layers with erf-GELU and
/// the −10000 key mask at id 0, the `[CLS]` row times `text_projection`.
enum TextTowerGraph {
    static func build(_ g: ONNXGraphBuilder, model: CLIPModel, input: String) throws -> String {
        let weights = ExportWeights(tensors: Dictionary(model.stateEntries().map { ($0.name, $0.tensor) }) { a, _ in a })
        let config = model.config
        let hidden = config.textHiddenSize
        let words = try weights("bert.embeddings.word_embeddings.weight")
        let wordVectors = g.op("Gather", [g.weight("bert.embeddings.word_embeddings.weight", words.toArray(), shape: words.shape),
                                          input], [ONNXGraphBuilder.int("axis", 0)], hint: "words")
        let length = g.op("Shape", [input], [ONNXGraphBuilder.int("start", 1), ONNXGraphBuilder.int("end", 2)], hint: "length")
        let positionTable = try weights("bert.embeddings.position_embeddings.weight")
        let positions = g.op("Slice", [g.weight("bert.embeddings.position_embeddings.weight", positionTable.toArray(),
                                                shape: positionTable.shape),
                                       g.int64Constant([0], shape: [1], hint: "zero"), length,
                                       g.int64Constant([0], shape: [1], hint: "axis0")], hint: "positions")
        let tokenTypes = try weights("bert.embeddings.token_type_embeddings.weight").contiguous().toArray()
        let typeZero = g.weight("bert.embeddings.token_type_embeddings.row0", Array(tokenTypes[0..<hidden]), shape: [hidden])
        var x = g.op("Add", [g.op("Add", [wordVectors, positions]), typeZero], hint: "embeddings")
        x = try g.layerNorm(x, "bert.embeddings.LayerNorm", eps: 1e-12, weights)

        let isPadding = g.op("Equal", [input, g.int64Constant([0], shape: [], hint: "pad_id")], hint: "is_padding")
        let maskValues = g.op("Mul", [g.op("Cast", [isPadding], [ONNXGraphBuilder.int("to", 1)]),
                                      g.floatConstant([-10000], shape: [], hint: "mask_value")], hint: "mask_values")
        let mask = g.op("Reshape", [maskValues, g.int64Constant([0, 1, 1, -1], shape: [4], hint: "mask_shape")], hint: "mask")
        for index in 0..<config.textNumHiddenLayers {
            let prefix = "bert.encoder.layer.\(index)"
            let q = try g.linear(x, prefix + ".attention.self.query", weights)
            let k = try g.linear(x, prefix + ".attention.self.key", weights)
            let v = try g.linear(x, prefix + ".attention.self.value", weights)
            let attended = g.attention(q: q, k: k, v: v, width: hidden, heads: config.textNumAttentionHeads, mask: mask)
            let projected = try g.linear(attended, prefix + ".attention.output.dense", weights)
            x = try g.layerNorm(g.op("Add", [projected, x]), prefix + ".attention.output.LayerNorm", eps: 1e-12, weights)
            let inner = g.gelu(try g.linear(x, prefix + ".intermediate.dense", weights))
            let output = try g.linear(inner, prefix + ".output.dense", weights)
            x = try g.layerNorm(g.op("Add", [output, x]), prefix + ".output.LayerNorm", eps: 1e-12, weights)
        }
        return try g.matmul(g.firstToken(x), matrix: "text_projection", weights)
    }
}
