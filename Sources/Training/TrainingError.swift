/// Errors of the training machinery, naming what did not fit.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// Features, labels or gathered parts whose shapes do not fit together.
    case shapeMismatch(String)
    /// An optimizer state that does not match the model's trainable parameters.
    case optimizerStateMismatch(String)
    /// A hyperparameter outside its domain (e.g. a non-positive warm-up).
    case invalidHyperparameter(String)
    /// Data-parallel training across ranks that cannot go on (gradient averaging, communication).
    case distributed(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(reason): return "shape mismatch: \(reason)"
        case let .optimizerStateMismatch(reason): return "optimizer state does not fit the model: \(reason)"
        case let .invalidHyperparameter(reason): return "invalid hyperparameter: \(reason)"
        case let .distributed(reason): return "data-parallel training: \(reason)"
        }
    }
}
