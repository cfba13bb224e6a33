import Foundation
import ONNXProto

/// Builds one ONNX graph node by node: fresh value names, initializers (weights), and the attribute helpers.
///
/// Weights are fp32 initializers, or with `halfWeights` fp16 initializers each followed by a `Cast` to fp32, so the
/// file is half the size while every operator still computes in fp32.
final class ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    let halfWeights: Bool
    private var counter = 0

    init(halfWeights: Bool) {
        self.halfWeights = halfWeights
    }

    /// A value name not used before, from `hint`.
    func fresh(_ hint: String) -> String {
        counter += 1
        return "\(hint)_\(counter)"
    }

    /// Appends a node computing `op` of `inputs`; returns its output names (`outputs` of them).
    @discardableResult
    func node(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], outputs: Int = 1,
              hint: String? = nil) -> [String] {
        var node = Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        node.output = (0..<outputs).map { _ in fresh(hint ?? op.lowercased()) }
        node.name = node.output[0] + "_node"
        node.attribute = attributes
        nodes.append(node)
        return node.output
    }

    /// Appends a node with one output; returns its name.
    func op(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], hint: String? = nil) -> String {
        node(op, inputs, attributes, hint: hint)[0]
    }

    /// A float weight initializer named `name` (fp16 plus a Cast under `halfWeights`); returns the fp32 value's name.
    func weight(_ name: String, _ values: [Float], shape: [Int]) -> String {
        precondition(values.count == shape.reduce(1, *), "weight \(name): \(values.count) values for \(shape)")
        var tensor = Onnx_TensorProto()
        tensor.dims = shape.map(Int64.init)
        if halfWeights {
            tensor.name = name + "_fp16"
            tensor.dataType = Int32(Onnx_TensorProto.DataType.float16.rawValue)
            tensor.rawData = values.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
            initializers.append(tensor)
            var cast = Onnx_NodeProto()
            cast.opType = "Cast"
            cast.input = [tensor.name]
            cast.output = [name]
            cast.name = name + "_cast"
            cast.attribute = [Self.int("to", Int64(Onnx_TensorProto.DataType.float.rawValue))]
            nodes.append(cast)
        } else {
            tensor.name = name
            tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            tensor.rawData = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
            initializers.append(tensor)
        }
        return name
    }

    /// An fp32 constant (kept fp32 even under `halfWeights`: scales and masks, not weights).
    func floatConstant(_ values: [Float], shape: [Int], hint: String) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = fresh(hint)
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.rawData = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// An int64 constant (shapes, indices).
    func int64Constant(_ values: [Int64], shape: [Int], hint: String) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = fresh(hint)
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.rawData = values.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        initializers.append(tensor)
        return tensor.name
    }

    static func int(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = value
        return attribute
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    /// A graph input or output: `elemType` with dims given as sizes or symbolic names (`batch`).
    static func valueInfo(_ name: String, elemType: Onnx_TensorProto.DataType, dims: [Dim]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { dim in
            var dimension = Onnx_TensorShapeProto.Dimension()
            switch dim {
            case let .size(value): dimension.dimValue = Int64(value)
            case let .symbol(name): dimension.dimParam = name
            }
            return dimension
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(elemType.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    /// One dimension of a graph input or output.
    enum Dim {
        case size(Int)
        case symbol(String)
    }
}
