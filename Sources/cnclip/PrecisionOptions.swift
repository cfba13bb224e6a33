import ArgumentParser
import Foundation
import Checkpoint
import Layers
import Models
import Quantized

extension InferencePrecision: ExpressibleByArgument {}
extension ActivationScaling: ExpressibleByArgument {}

/// `--int8-activations per-token|per-tensor`: the benchmarks' way to compare the two activation scalings.
struct ActivationScalingOption: ParsableArguments {
    @Option(name: .customLong("int8-activations"), help: ArgumentHelp(
        "Scales of int8 activations: per-token (default, what every command uses) or per-tensor (for comparison).",
        valueName: "per-token|per-tensor"))
    var activationScaling: ActivationScaling = .perToken
}

/// `--precision fp32|bf16|int8` for every command that runs the towers for inference.
struct PrecisionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Arithmetic of the linear layers: fp32 (default; OpenBLAS, deterministic), "
            + "bf16 (CPUs with AVX512_BF16 or AMX), or int8 (int8 weights per output channel, activations per token).",
        valueName: "fp32|bf16|int8"))
    var precision: InferencePrecision = .fp32

    /// Installs the precision's kernels on `model`, saying on stderr what runs where.
    /// - Throws: `ValidationError` naming the missing CPU feature when the precision is not available here.
    @discardableResult
    func apply(to model: CLIPModel, activationScaling: ActivationScaling = .perToken,
               prepare: ((Linear) -> Void)? = nil) throws -> PrecisionReport {
        try Self.apply(precision, to: model, activationScaling: activationScaling, prepare: prepare)
    }

    /// The engine precision for a reference-style `--precision` value: amp, fp16 (weights rounded at load) and
    /// fp32 compute in fp32; bf16 and int8 as `InferencePrecision`.
    static func engine(forReferenceValue value: String) -> InferencePrecision {
        InferencePrecision(rawValue: value) ?? .fp32
    }

    /// `apply(to:)` for a given precision.
    @discardableResult
    static func apply(_ precision: InferencePrecision, to model: CLIPModel, activationScaling: ActivationScaling = .perToken,
                      prepare: ((Linear) -> Void)? = nil) throws -> PrecisionReport {
        do {
            let report = try model.use(precision: precision, activationScaling: activationScaling, prepare: prepare)
            FileHandle.standardError.write(Data("\(report)\n".utf8))
            return report
        } catch let error as QuantizationError {
            throw ValidationError(error.description)
        }
    }
}

/// Loads `checkpoint` (fp32, fp16, or int8 from `cnclip convert --quantize int8`) and readies `precision`, saying on
/// stderr what runs where.
/// - Throws: `ValidationError` naming the missing CPU feature when the precision is not available here.
func loadModel(config: ModelConfig, checkpoint: URL, weightPrecision: WeightPrecision = .exact,
               precision: InferencePrecision) throws -> LoadedCLIP {
    do {
        let (loaded, report) = try CLIPModel.load(config: config, checkpoint: checkpoint, weightPrecision: weightPrecision,
                                                  precision: precision)
        FileHandle.standardError.write(Data("\(report)\n".utf8))
        return loaded
    } catch let error as QuantizationError {
        throw ValidationError(error.description)
    }
}
