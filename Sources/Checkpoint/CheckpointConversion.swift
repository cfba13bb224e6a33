import Foundation

/// `cnclip convert`: rewrites a checkpoint in another format, precision or without its optimizer state.
public enum CheckpointConversion {
    /// The precision change to apply.
    public enum Precision: Sendable {
        /// Keep every tensor's dtype.
        case keep
        /// fp32 → fp16 for the tensors the reference's `convert_weights` makes fp16 (`ReferencePrecision`).
        case half
        /// fp16/bf16 → fp32 for every tensor, optimizer state included.
        case float
    }

    /// What to change while converting.
    public struct Options: Sendable {
        public var precision: Precision
        public var stripOptimizer: Bool
        public var forceZip64: Bool

        public init(precision: Precision = .keep, stripOptimizer: Bool = false, forceZip64: Bool = false) {
            self.precision = precision
            self.stripOptimizer = stripOptimizer
            self.forceZip64 = forceZip64
        }
    }

    /// Reads `input` (`.pt` or `.safetensors`), applies `options` and writes `output` atomically in the format its
    /// extension names. Returns the checkpoint written.
    @discardableResult
    public static func convert(_ input: URL, to output: URL, options: Options = Options()) throws -> Checkpoint {
        try convert(Checkpoint.load(contentsOf: input), to: output, options: options)
    }

    /// Applies `options` to `checkpoint` and writes `output` atomically in the format its extension names.
    /// Returns the checkpoint written.
    @discardableResult
    public static func convert(_ checkpoint: Checkpoint, to output: URL, options: Options = Options()) throws -> Checkpoint {
        var checkpoint = checkpoint
        if options.stripOptimizer { checkpoint.optimizer = nil }
        switch options.precision {
        case .keep: break
        case .half: checkpoint.stateDict = try ReferencePrecision.halved(checkpoint.stateDict)
        case .float:
            let widen = { (tensor: StoredTensor) throws -> StoredTensor in
                guard tensor.dtype == .float16 || tensor.dtype == .bfloat16 else { return tensor }
                return try tensor.converted(to: .float32)
            }
            checkpoint.stateDict = try checkpoint.stateDict.mapTensors { _, tensor in try widen(tensor) }
            checkpoint.optimizer = try checkpoint.optimizer?.mappingTensors(widen)
        }
        try checkpoint.write(to: output, forceZip64: options.forceZip64)
        return checkpoint
    }
}
