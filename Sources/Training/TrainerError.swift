/// Errors of a training run (data, resume, output), each naming the file, key or flag at fault.
public enum TrainerError: Error, Equatable, CustomStringConvertible {
    /// A training or validation LMDB directory that is missing or lacks `pairs`/`imgs`.
    case missingData(path: String, reason: String)
    /// A record of the LMDB that cannot be used (undecodable base64, image or pickle); names the key.
    case corruptRecord(path: String, key: String, reason: String)
    /// A flag value the run cannot work with.
    case invalidArgument(flag: String, reason: String)
    /// A checkpoint to resume from that does not fit the model or lacks the training entries.
    case unusableCheckpoint(path: String, reason: String)
    /// An output (log, params file, checkpoint directory) that cannot be written.
    case unwritableOutput(path: String, reason: String)
    /// A pretrained tower file (`--clip-weight-path`, `--bert-weight-path`) that is missing or does not fit.
    case unusableWeights(flag: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingData(path, reason): return "\(path): \(reason)"
        case let .corruptRecord(path, key, reason): return "\(path): record \"\(key)\": \(reason)"
        case let .invalidArgument(flag, reason): return "\(flag): \(reason)"
        case let .unusableCheckpoint(path, reason): return "\(path): cannot resume: \(reason)"
        case let .unwritableOutput(path, reason): return "\(path): \(reason)"
        case let .unusableWeights(flag, path, reason): return "\(flag) \(path): \(reason)"
        }
    }
}
