/// The only pickle globals a tensor checkpoint needs. The unpickler resolves a `GLOBAL module name` opcode
/// through `init?(module:name:)` and refuses every other name, so loading a checkpoint never runs code.
enum PickleGlobal: Equatable {
    /// `collections.OrderedDict`: the state dict and `_rebuild_tensor_v2`'s backward hooks.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`: a saved `nn.Parameter`.
    case rebuildParameter
    /// `torch <Type>Storage`: names the element type in a storage's persistent id.
    case storageType(StoredDType)
    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar (the optimizer's float64 `lr`).
    case numpyScalar
    /// `numpy.dtype(name, align, copy)`: the dtype of a numpy scalar.
    case numpyDType
    /// `_codecs.encode(text, "latin1")`: how protocol 2 spells a `bytes` object.
    case codecsEncode

    /// The global `module.name` stands for, or nil when it is not allowed.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"): self = .numpyScalar
        case ("numpy", "dtype"): self = .numpyDType
        case ("_codecs", "encode"): self = .codecsEncode
        case ("torch", _):
            guard let dtype = StoredDType(torchStorageName: name) else { return nil }
            self = .storageType(dtype)
        default: return nil
        }
    }

    /// The `module` and `name` a writer emits for this global.
    var qualifiedName: (module: String, name: String) {
        switch self {
        case .orderedDict: return ("collections", "OrderedDict")
        case .rebuildTensorV2: return ("torch._utils", "_rebuild_tensor_v2")
        case .rebuildParameter: return ("torch._utils", "_rebuild_parameter")
        case let .storageType(dtype): return ("torch", dtype.torchStorageName)
        case .numpyScalar: return ("numpy.core.multiarray", "scalar")
        case .numpyDType: return ("numpy", "dtype")
        case .codecsEncode: return ("_codecs", "encode")
        }
    }
}
