import Tensor

/// A model parameter or buffer that loading must fill: its dotted name and shape.
public struct ParameterSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// How the reference maps a file's keys to the model's before its strict load (§2.4).
public enum KeyRule: Sendable {
    /// `create_model` (and the evaluation scripts): if the **first** key starts with `module`, strip 7 characters
    /// from every key and drop keys containing `bert.pooler`; otherwise keep the keys as they are.
    case createModel
    /// Training resume: drop keys containing `bert.pooler`; every other key must carry `module.` (the DDP prefix).
    case trainingResume
}

/// Strict loading of a state dict into a model described by its parameter list.
public enum StrictLoading {
    /// The state dict's tensors keyed by the model's (unprefixed) names, as fp32 `Tensor`s.
    ///
    /// - Throws: `CheckpointError.stateDictMismatch` naming every missing, unexpected and mis-shaped key
    ///   (in the file's spelling for unexpected keys, the model's for missing ones).
    public static func load(_ expected: [ParameterSpec], from stateDict: StateDict,
                            rule: KeyRule = .createModel) throws -> [String: Tensor] {
        try matched(expected, from: stateDict, rule: rule).mapValues { $0.tensor() }
    }

    /// `load` without decoding: the stored tensors keyed by the model's names, checked the same way.
    /// - Throws: `CheckpointError.stateDictMismatch` as `load` does.
    public static func matched(_ expected: [ParameterSpec], from stateDict: StateDict,
                               rule: KeyRule = .createModel) throws -> [String: StoredTensor] {
        let renamed = modelKeys(of: stateDict, rule: rule)
        var result: [String: StoredTensor] = [:]
        var missing: [String] = [], misShaped: [CheckpointError.ShapeMismatch] = []
        var found = Set<String>()
        for spec in expected {
            guard let (_, tensor) = renamed[spec.name] else {
                missing.append(spec.name)
                continue
            }
            found.insert(spec.name)
            guard tensor.shape == spec.shape else {
                misShaped.append(.init(key: spec.name, expected: spec.shape, found: tensor.shape))
                continue
            }
            result[spec.name] = tensor
        }
        let matched = Set(found.compactMap { renamed[$0]?.fileKey })
        let unexpected = stateDict.keys.filter { !matched.contains($0) && !dropped($0, rule, stateDict) }
        guard missing.isEmpty, unexpected.isEmpty, misShaped.isEmpty else {
            throw CheckpointError.stateDictMismatch(missing: missing, unexpected: unexpected, misShaped: misShaped)
        }
        return result
    }

    /// The file's tensors under the names the model uses, each with the key it had in the file.
    public static func modelKeys(of stateDict: StateDict, rule: KeyRule)
        -> [String: (fileKey: String, tensor: StoredTensor)] {
        var result: [String: (fileKey: String, tensor: StoredTensor)] = [:]
        for (key, tensor) in stateDict.entries where !dropped(key, rule, stateDict) {
            switch rule {
            case .createModel:
                let strip = stateDict.keys.first?.hasPrefix("module") ?? false
                result[strip ? String(key.dropFirst(7)) : key] = (key, tensor)
            case .trainingResume:
                if key.hasPrefix("module.") { result[String(key.dropFirst(7))] = (key, tensor) }
            }
        }
        return result
    }

    private static func dropped(_ key: String, _ rule: KeyRule, _ stateDict: StateDict) -> Bool {
        switch rule {
        case .createModel: return (stateDict.keys.first?.hasPrefix("module") ?? false) && key.contains("bert.pooler")
        case .trainingResume: return key.contains("bert.pooler")
        }
    }
}
