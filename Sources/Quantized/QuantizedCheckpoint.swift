import Checkpoint
import Foundation
import Imaging
import Layers
import Models
import Tensor
import Tokenizer

/// The int8 checkpoint format: each Linear weight `K` `[out, in]` stored as int8 codes under `K` and its per-output
/// scales as fp32 `[out]` under `K_scale` (w ≈ scale·code); every other tensor as it was. About a quarter of the
/// fp32 size, since Linear weights are most of a model's parameters. Written by `cnclip convert --quantize int8`.
public enum QuantizedCheckpoint {
    /// The key of the scales of the int8 weight `key`.
    public static func scaleKey(for key: String) -> String { key + "_scale" }

    /// A checkpoint key as the model names it (DataParallel's leading `module.` removed).
    public static func modelKey(_ key: String) -> String { key.hasPrefix("module.") ? String(key.dropFirst(7)) : key }

    /// The checkpoint keys of `model`'s Linear weights.
    public static func linearWeightKeys(of model: CLIPModel) -> [String: Linear] {
        var linearByStorage: [ObjectIdentifier: Linear] = [:]
        for layer in model.linearLayers { linearByStorage[ObjectIdentifier(layer.weight.storage)] = layer }
        var result: [String: Linear] = [:]
        for entry in model.stateEntries() {
            if let layer = linearByStorage[ObjectIdentifier(entry.tensor.storage)], entry.tensor.rank == 2 {
                result[entry.name] = layer
            }
        }
        return result
    }

    /// `stateDict` with `model`'s Linear weights quantised (keys as `model.stateEntries()` names them).
    /// - Throws: `QuantizationError` for a weight that cannot be quantised, naming its key.
    public static func quantize(_ stateDict: StateDict, for model: CLIPModel) throws -> StateDict {
        let keys = linearWeightKeys(of: model)
        var result = StateDict()
        for (key, stored) in stateDict.entries {
            guard keys[modelKey(key)] != nil, stored.dtype.isFloatingPoint else {
                result[key] = stored
                continue
            }
            let weights: Int8Weights
            do {
                weights = try Int8Weights(quantizing: stored.tensor())
            } catch QuantizationError.invalidWeight(_, let reason) {
                throw QuantizationError.invalidWeight(name: key, reason: reason)
            }
            let codes = weights.values.withUnsafeBytes { Data($0) }
            result[key] = try StoredTensor(dtype: .int8, shape: stored.shape, contiguousBytes: codes)
            result[scaleKey(for: key)] = try StoredTensor(Tensor(shape: [weights.rows], data: weights.scales))
        }
        return result
    }

    /// Splits a (possibly) quantised state dict: the int8 weights by key, and a state dict of the other tensors
    /// where, if `dequantizing`, the int8 weights are replaced by their fp32 values s·q (so the strict loader sees
    /// the model's usual keys and shapes); otherwise they are left out.
    /// - Throws: `QuantizedCheckpointError` naming `path` and the key.
    public static func split(_ stateDict: StateDict, for model: CLIPModel, path: String,
                             dequantizing: Bool = true) throws -> (floats: StateDict, int8: [String: Int8Weights]) {
        let linearKeys = linearWeightKeys(of: model)
        let keys = Set(stateDict.keys.filter { linearKeys[modelKey($0)] != nil })
        var floats = StateDict(), int8: [String: Int8Weights] = [:]
        let scaleKeys = Set(keys.map(scaleKey(for:)))
        for (key, stored) in stateDict.entries where !scaleKeys.contains(key) {
            guard keys.contains(key), stored.dtype == .int8 else {
                if stored.dtype == .int8 || stored.dtype == .uint8 {
                    throw QuantizedCheckpointError.wrongDType(path: path, key: key, found: stored.dtype.rawValue,
                                                              expected: keys.contains(key) ? "int8 or a float type" : "a float type")
                }
                floats[key] = stored
                continue
            }
            guard stored.shape.count == 2 else {
                throw QuantizedCheckpointError.wrongShape(path: path, key: key, shape: stored.shape, expected: "[out, in]")
            }
            guard let scale = stateDict[scaleKey(for: key)] else {
                throw QuantizedCheckpointError.missingScale(path: path, key: scaleKey(for: key))
            }
            guard scale.dtype == .float32 else {
                throw QuantizedCheckpointError.wrongDType(path: path, key: scaleKey(for: key),
                                                          found: scale.dtype.rawValue, expected: "float32")
            }
            guard scale.shape == [stored.shape[0]] else {
                throw QuantizedCheckpointError.wrongShape(path: path, key: scaleKey(for: key), shape: scale.shape,
                                                          expected: "[\(stored.shape[0])]")
            }
            let codes = stored.contiguousBytes().map { Int8(bitPattern: $0) }
            stored.discardMappedPages()
            let weights: Int8Weights
            do {
                weights = try Int8Weights(values: codes, scales: scale.floatValues(), rows: stored.shape[0],
                                          columns: stored.shape[1], name: key)
            } catch let error as QuantizationError {
                throw QuantizedCheckpointError.invalidWeights(path: path, reason: error.description)
            }
            int8[modelKey(key)] = weights
            if dequantizing { floats[key] = try StoredTensor(weights.dequantized()) }
        }
        for key in scaleKeys where stateDict[key] != nil && int8[modelKey(String(key.dropLast("_scale".count)))] == nil {
            throw QuantizedCheckpointError.wrongDType(path: path, key: String(key.dropLast("_scale".count)),
                                                      found: stateDict[String(key.dropLast("_scale".count))]?.dtype.rawValue ?? "missing",
                                                      expected: "int8 (it has a scale)")
        }
        return (floats, int8)
    }
}

/// A quantised checkpoint that does not hold what the format promises.
public enum QuantizedCheckpointError: Error, CustomStringConvertible, Equatable {
    case missingScale(path: String, key: String)
    case wrongDType(path: String, key: String, found: String, expected: String)
    case wrongShape(path: String, key: String, shape: [Int], expected: String)
    case invalidWeights(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingScale(path, key): return "\(path): int8 weight without its scales: \(key) is missing"
        case let .wrongDType(path, key, found, expected): return "\(path): \(key) is \(found), expected \(expected)"
        case let .wrongShape(path, key, shape, expected): return "\(path): \(key) has shape \(shape), expected \(expected)"
        case let .invalidWeights(path, reason): return "\(path): \(reason)"
        }
    }
}

extension CLIPModel {
    /// Loads `checkpoint` (fp32, fp16 or int8 as `QuantizedCheckpoint` describes) and readies `precision`: an int8
    /// checkpoint's stored codes are used as they are for int8 (no second rounding), and their fp32 values s·q for
    /// fp32 and bf16.
    /// - Throws: `QuantizedCheckpointError`, `ModelError.incompatibleCheckpoint`, `QuantizationError.unsupported`.
    public static func load(config: ModelConfig, checkpoint url: URL, weightPrecision: WeightPrecision,
                            precision: InferencePrecision) throws -> (loaded: LoadedCLIP, report: PrecisionReport) {
        try precision.checkSupported()
        var file = try Checkpoint.load(contentsOf: url)
        let model = try CLIPModel(config: config)
        // For int8, stored codes never become fp32: the Linear weights keep their untouched zero pages until
        // `use` releases them.
        var (floats, int8) = try QuantizedCheckpoint.split(file.stateDict, for: model, path: url.path,
                                                           dequantizing: precision != .int8)
        file.stateDict = StateDict()
        do {
            try model.load(floats, precision: weightPrecision,
                           providedElsewhere: precision == .int8 ? Set(int8.keys) : [])
        } catch let error as CheckpointError {
            throw ModelError.incompatibleCheckpoint(path: url.path, reason: "\(error)")
        }
        floats = StateDict()
        let report = try model.use(precision: precision, int8Weights: int8)
        let loaded = LoadedCLIP(model: model, preprocessor: ImagePreprocessor(resolution: config.imageResolution),
                                tokenizer: try Tokenizer.bundled(), epoch: file.epoch, step: file.step)
        return (loaded, report)
    }
}
