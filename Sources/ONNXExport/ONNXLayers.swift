import Foundation
import ONNXProto
import Tensor

/// The model's tensors by their state-dict names (the reference's, unprefixed), as the graphs read them.
struct ExportWeights {
    let tensors: [String: Tensor]

    /// The tensor `name`; a missing name is a bug in the exporter's names, reported as an error naming it.
    func callAsFunction(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else { throw ONNXExportError.missingWeight(name) }
        return tensor
    }
}

/// The layers both towers are made of, as ONNX nodes (opset 17: `LayerNormalization` is a single operator).
extension ONNXGraphBuilder {
    /// `x · Wᵀ + b` for a PyTorch `Linear` stored as `<prefix>.weight [out, in]` and `<prefix>.bias`.
    func linear(_ x: String, _ prefix: String, _ weights: ExportWeights) throws -> String {
        let product = op("MatMul", [x, try transposedWeight(prefix + ".weight", weights)], hint: "matmul")
        let bias = try weights(prefix + ".bias")
        return op("Add", [product, weight(prefix + ".bias", bias.toArray(), shape: bias.shape)], hint: "linear")
    }

    /// `x · M` for a matrix stored `[in, out]` (the projections).
    func matmul(_ x: String, matrix name: String, _ weights: ExportWeights) throws -> String {
        let matrix = try weights(name)
        return op("MatMul", [x, weight(name, matrix.toArray(), shape: matrix.shape)], hint: "projection")
    }

    /// The `[in, out]` initializer of a `[out, in]` weight.
    func transposedWeight(_ name: String, _ weights: ExportWeights) throws -> String {
        let tensor = try weights(name)
        guard tensor.rank == 2 else { throw ONNXExportError.unexpectedShape(name, tensor.shape) }
        let (rows, columns) = (tensor.shape[0], tensor.shape[1])
        let values = tensor.contiguous().toArray()
        var transposed = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<columns { transposed[c * rows + r] = values[r * columns + c] } }
        return weight(name + ".T", transposed, shape: [columns, rows])
    }

    /// LayerNorm over the last axis with `<prefix>.weight` / `<prefix>.bias`.
    func layerNorm(_ x: String, _ prefix: String, eps: Float, _ weights: ExportWeights) throws -> String {
        let scale = try weights(prefix + ".weight"), bias = try weights(prefix + ".bias")
        return op("LayerNormalization", [x, weight(prefix + ".weight", scale.toArray(), shape: scale.shape),
                                         weight(prefix + ".bias", bias.toArray(), shape: bias.shape)],
                  [Self.int("axis", -1), Self.float("epsilon", eps)], hint: "layernorm")
    }

    /// Multi-head attention of `[B, N, W]` projections `q`, `k`, `v` into `heads` heads, with an optional additive
    /// key mask broadcastable to `[B, heads, N, N]`; returns the heads concatenated, `[B, N, W]` (before `out_proj`).
    func attention(q: String, k: String, v: String, width: Int, heads: Int, mask: String?) -> String {
        let headWidth = width / heads
        let split = int64Constant([0, 0, Int64(heads), Int64(headWidth)], shape: [4], hint: "heads_shape")
        func heads_(_ x: String, _ perm: [Int64]) -> String {
            op("Transpose", [op("Reshape", [x, split], hint: "split_heads")], [Self.ints("perm", perm)], hint: "heads")
        }
        let scale = floatConstant([1 / Float(headWidth).squareRoot()], shape: [], hint: "attention_scale")
        let query = heads_(op("Mul", [q, scale], hint: "scaled_q"), [0, 2, 1, 3])   // [B, h, N, d]
        let keyT = heads_(k, [0, 2, 3, 1])                                            // [B, h, d, N]
        var scores = op("MatMul", [query, keyT], hint: "scores")
        if let mask { scores = op("Add", [scores, mask], hint: "masked_scores") }
        let probabilities = op("Softmax", [scores], [Self.int("axis", -1)], hint: "probabilities")
        let context = op("MatMul", [probabilities, heads_(v, [0, 2, 1, 3])], hint: "context")  // [B, h, N, d]
        let merged = op("Transpose", [context], [Self.ints("perm", [0, 2, 1, 3])], hint: "merge")
        return op("Reshape", [merged, int64Constant([0, 0, Int64(width)], shape: [3], hint: "merged_shape")],
                  hint: "attended")
    }

    /// Row 0 along axis 1 of `[B, N, W]`: `[B, W]` (the class token).
    func firstToken(_ x: String) -> String {
        op("Gather", [x, int64Constant([0], shape: [], hint: "index0")], [Self.int("axis", 1)], hint: "first_token")
    }

    /// QuickGELU, `x · σ(1.702 x)`.
    func quickGELU(_ x: String) -> String {
        let scaled = op("Mul", [x, floatConstant([1.702], shape: [], hint: "quick_gelu_scale")])
        return op("Mul", [x, op("Sigmoid", [scaled])], hint: "quick_gelu")
    }

    /// erf-GELU, `0.5 x (1 + erf(x / √2))`.
    func gelu(_ x: String) -> String {
        let erf = op("Erf", [op("Div", [x, floatConstant([Float(2).squareRoot()], shape: [], hint: "sqrt2")])])
        let onePlus = op("Add", [erf, floatConstant([1], shape: [], hint: "one")])
        return op("Mul", [op("Mul", [x, onePlus]), floatConstant([0.5], shape: [], hint: "half")], hint: "gelu")
    }
}

/// Errors of the ONNX export, naming the weight, file or model part concerned.
public enum ONNXExportError: Error, Equatable, CustomStringConvertible {
    case missingWeight(String)
    case unexpectedShape(String, [Int])
    case unsupportedModel(String)
    case unwritableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingWeight(name): return "ONNX export: the model has no tensor \(name)"
        case let .unexpectedShape(name, shape): return "ONNX export: tensor \(name) has unexpected size \(shape)"
        case let .unsupportedModel(reason): return "ONNX export: \(reason)"
        case let .unwritableFile(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}
