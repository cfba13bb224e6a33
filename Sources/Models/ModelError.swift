/// Errors raised while choosing, building or loading a model. Each names the model, key or file at fault.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// A model name the registry does not know.
    case unknownModel(name: String, known: [String])
    /// A config file that cannot be read or decoded.
    case unreadableConfig(path: String, reason: String)
    /// A config value the towers cannot be built from.
    case invalidConfig(key: String, reason: String)
    /// Input of the wrong shape for the model.
    case invalidInput(String)
    /// A checkpoint whose tensors do not fit the model's architecture.
    case incompatibleCheckpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known):
            return "unknown model \"\(name)\"; known models: \(known.joined(separator: ", "))"
        case let .unreadableConfig(path, reason):
            return "model config \(path): \(reason)"
        case let .invalidConfig(key, reason):
            return "model config key \"\(key)\": \(reason)"
        case let .invalidInput(reason):
            return "invalid model input: \(reason)"
        case let .incompatibleCheckpoint(path, reason):
            return "checkpoint \(path) does not fit the model: \(reason)"
        }
    }
}
