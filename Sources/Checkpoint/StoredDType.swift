/// Element type of a tensor as a checkpoint stores it (computation is always fp32; see `StoredTensor.tensor()`).
public enum StoredDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// True for the floating-point types (the ones precision conversion applies to).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    /// The torch storage class a `.pt` file names for this type (`torch FloatStorage`, …).
    public var torchStorageName: String {
        switch self {
        case .float32: return "FloatStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .float64: return "DoubleStorage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }

    /// The dtype string of the safetensors format (`F32`, `F16`, `BF16`, `I64`, …).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// The type a torch storage class name stands for, or nil for an unknown name.
    public init?(torchStorageName name: String) {
        guard let match = Self.allCases.first(where: { $0.torchStorageName == name }) else { return nil }
        self = match
    }

    /// The type a safetensors dtype string stands for, or nil for an unknown string.
    public init?(safetensorsName name: String) {
        guard let match = Self.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = match
    }
}
