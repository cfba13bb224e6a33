/// Everything that can go wrong reading, writing or applying a checkpoint. Each case names the file, member,
/// key or pickle global concerned, so the message alone tells the user what to fix.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadableFile(path: String, reason: String)
    /// The file is not a ZIP archive (nor a legacy torch file), or its ZIP structure is damaged or truncated.
    case malformedArchive(path: String, reason: String)
    /// A legacy (non-ZIP) torch file that is truncated or damaged; `reason` names the part missing or wrong.
    case malformedLegacyFile(path: String, reason: String)
    /// A member the torch container needs (`<archive>/data.pkl`, `<archive>/data/<key>`) is absent.
    case missingMember(path: String, member: String)
    /// `data.pkl` is not a pickle this reader accepts; `offset` is the byte position in the pickle.
    case malformedPickle(path: String, offset: Int, reason: String)
    /// The pickle names a global that a tensor checkpoint never needs; loading refuses rather than running code.
    case forbiddenGlobal(path: String, module: String, name: String)
    /// A tensor's storage holds fewer bytes or elements than the tensor addresses, or its layout is invalid.
    case invalidTensor(path: String, reason: String)
    /// A `.safetensors` file whose header or data does not follow the format.
    case malformedSafetensors(path: String, reason: String)
    /// The file's top-level object is not a state dict or a training checkpoint.
    case unexpectedContents(path: String, reason: String)
    /// Strict loading failed: the lists name every missing, unexpected and mis-shaped key.
    case stateDictMismatch(missing: [String], unexpected: [String], misShaped: [ShapeMismatch])
    /// A value has a dtype or shape that the requested conversion cannot handle.
    case unsupportedConversion(key: String, reason: String)
    /// Writing the output failed.
    case unwritableFile(path: String, reason: String)

    /// One key whose tensor shape differs from the model's parameter.
    public struct ShapeMismatch: Equatable, Sendable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }
    }

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformedArchive(path, reason): return "\(path): not a valid torch zip archive: \(reason)"
        case let .malformedLegacyFile(path, reason): return "\(path): not a valid legacy torch checkpoint: \(reason)"
        case let .missingMember(path, member): return "\(path): archive has no member \(member)"
        case let .malformedPickle(path, offset, reason): return "\(path): data.pkl byte \(offset): \(reason)"
        case let .forbiddenGlobal(path, module, name):
            return "\(path): refusing pickle global \(module).\(name): a tensor checkpoint never needs it"
        case let .invalidTensor(path, reason): return "\(path): \(reason)"
        case let .malformedSafetensors(path, reason): return "\(path): not a valid safetensors file: \(reason)"
        case let .unexpectedContents(path, reason): return "\(path): \(reason)"
        case let .stateDictMismatch(missing, unexpected, misShaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: \(Self.list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected keys: \(Self.list(unexpected))") }
            if !misShaped.isEmpty {
                parts.append("mis-shaped keys: " + Self.list(misShaped.map {
                    "\($0.key) (model \($0.expected), checkpoint \($0.found))"
                }))
            }
            return "state dict does not match the model: " + parts.joined(separator: "; ")
        case let .unsupportedConversion(key, reason): return "\(key): \(reason)"
        case let .unwritableFile(path, reason): return "\(path): cannot write: \(reason)"
        }
    }

    private static func list(_ items: [String]) -> String {
        let shown = items.prefix(20).joined(separator: ", ")
        return items.count > 20 ? "\(shown), … (\(items.count) in all)" : shown
    }
}
