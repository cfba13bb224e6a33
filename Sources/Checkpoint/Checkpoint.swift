import Foundation

/// A checkpoint file's contents: the model's state dict and, for a training checkpoint, the reference's
/// `epoch`, `step`, `name` and AdamW `optimizer` state (§2.3). Reads and writes `.pt` and `.safetensors`.
public struct Checkpoint: Sendable {
    /// How the file holds the state dict.
    public enum Layout: Sendable, Equatable {
        /// The state dict itself is the top-level object (`torch.save(model.state_dict())`).
        case bareStateDict
        /// A dict `{epoch, step, name, state_dict[, optimizer]}` as the reference's training writes.
        case training
    }

    /// Bare state dict or training checkpoint.
    public var layout: Layout
    /// The model's tensors, keys as stored (training files prefix them with `module.`).
    public var stateDict: StateDict
    /// Epoch (1-based) of a training checkpoint.
    public var epoch: Int?
    /// Global optimizer steps of a training checkpoint.
    public var step: Int?
    /// The run's `--name`.
    public var name: String?
    /// The optimizer's state dict (see `AdamWCheckpointState` for a typed view), if the file has one.
    public var optimizer: PickleValue?
    /// Any further top-level entries of a training checkpoint, kept so a rewrite loses nothing.
    public var otherEntries: [PickleDictEntry]

    /// A checkpoint from its parts.
    public init(layout: Layout, stateDict: StateDict, epoch: Int? = nil, step: Int? = nil, name: String? = nil,
                optimizer: PickleValue? = nil, otherEntries: [PickleDictEntry] = []) {
        self.layout = layout
        self.stateDict = stateDict
        self.epoch = epoch
        self.step = step
        self.name = name
        self.optimizer = optimizer
        self.otherEntries = otherEntries
    }

    /// Interprets the object a `.pt` file holds; `path` names the file in errors.
    public init(pickleValue root: PickleValue, path: String) throws {
        guard let entries = root.entries else {
            throw CheckpointError.unexpectedContents(path: path, reason: "the file holds no dict")
        }
        guard let stateDict = root["state_dict"] else {
            self.init(layout: .bareStateDict, stateDict: try StateDict(pickleValue: root, path: path))
            return
        }
        let known: Set<String> = ["epoch", "step", "name", "state_dict", "optimizer"]
        self.init(layout: .training, stateDict: try StateDict(pickleValue: stateDict, path: path),
                  epoch: root["epoch"]?.intValue, step: root["step"]?.intValue, name: root["name"]?.stringValue,
                  optimizer: root["optimizer"], otherEntries: entries.filter { !known.contains($0.key.stringValue ?? "") })
    }

    /// The object `torch.save` would be given for this checkpoint.
    public var pickleValue: PickleValue {
        guard layout == .training else { return stateDict.pickleValue }
        var entries: [PickleDictEntry] = []
        if let epoch { entries.append(PickleDictEntry(.string("epoch"), .int(epoch))) }
        if let step { entries.append(PickleDictEntry(.string("step"), .int(step))) }
        if let name { entries.append(PickleDictEntry(.string("name"), .string(name))) }
        entries.append(PickleDictEntry(.string("state_dict"), stateDict.pickleValue))
        if let optimizer { entries.append(PickleDictEntry(.string("optimizer"), optimizer)) }
        return .dict(entries + otherEntries, ordered: false)
    }

    /// Reads a `.pt` or `.safetensors` file, told apart by content (torch files are ZIP archives or start with
    /// the legacy format's magic number, safetensors headers are JSON) and then by extension.
    public static func load(contentsOf url: URL) throws -> Checkpoint {
        let data = try MappedFile.contents(of: url)
        let isTorch = data.starts(with: [0x50, 0x4B]) || LegacyTorchSerialization.hasMagicNumber(data)
        let looksLikeSafetensors = data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{")
        if !isTorch && (CheckpointFormat(url: url) == .safetensors || looksLikeSafetensors) {
            let (stateDict, metadata) = try SafeTensors.read(data, path: url.path)
            return Checkpoint(safetensors: stateDict, metadata: metadata)
        }
        return try Checkpoint(pickleValue: TorchSerialization.read(data, path: url.path), path: url.path)
    }

    /// Writes the checkpoint atomically in `format` (by default the one `url`'s extension names).
    /// A `.safetensors` file holds the state dict and `epoch`/`step`/`name` as metadata; it cannot hold the
    /// optimizer, so writing one with an optimizer is an error (drop it first, as `cnclip convert --strip-optimizer`).
    public func write(to url: URL, format: CheckpointFormat? = nil, forceZip64: Bool = false) throws {
        switch format ?? CheckpointFormat(url: url) {
        case .torch:
            try TorchSerialization.write(pickleValue, to: url, forceZip64: forceZip64)
        case .safetensors:
            guard optimizer == nil, otherEntries.isEmpty else {
                throw CheckpointError.unwritableFile(
                    path: url.path, reason: "safetensors holds tensors only, not the optimizer state "
                        + "(drop it first: cnclip convert --strip-optimizer)")
            }
            try SafeTensors.write(stateDict, metadata: safetensorsMetadata, to: url)
        }
    }

    private static let metadataFormatKey = "format"

    private var safetensorsMetadata: [String: String] {
        var metadata = [Self.metadataFormatKey: "pt"]
        if layout == .training {
            metadata["epoch"] = epoch.map(String.init)
            metadata["step"] = step.map(String.init)
            metadata["name"] = name
        }
        return metadata
    }

    private init(safetensors stateDict: StateDict, metadata: [String: String]) {
        let training = ["epoch", "step", "name"].contains { metadata[$0] != nil }
        self.init(layout: training ? .training : .bareStateDict, stateDict: stateDict,
                  epoch: metadata["epoch"].flatMap { Int($0) }, step: metadata["step"].flatMap { Int($0) },
                  name: metadata["name"])
    }
}

/// The two file formats a checkpoint can be read from and written to.
public enum CheckpointFormat: Sendable, Equatable {
    /// `torch.save`'s ZIP container, or for reading also its legacy format (`.pt`, `.pth`, `.bin`, anything not
    /// `.safetensors`).
    case torch
    /// `.safetensors`.
    case safetensors

    /// The format a file name's extension names.
    public init(url: URL) {
        self = url.pathExtension.lowercased() == "safetensors" ? .safetensors : .torch
    }
}
