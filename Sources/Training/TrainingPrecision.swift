import CPUFeatures

/// `train --precision`: the reference's default `amp` is CUDA autocast, which changes nothing on a CPU, so an
/// absent `--precision` (and fp32, fp16) trains in fp32 as the reference does there. An explicit `amp` asks for
/// reduced-precision arithmetic: bf16 autocast needs bf16 hardware, and this build has no bf16 training path yet
/// (none could be tested on the AVX2 machines it was built on), so it is refused, naming what is missing.
public enum TrainingPrecision {
    /// The reference's value for `--precision` as given (nil: not given), checked for this CPU.
    /// - Throws: `TrainingPrecisionError` for an unknown value or an explicit `amp`.
    public static func resolve(_ given: String?,
                               features: cnclip_cpu_features = cnclip_read_cpu_features()) throws -> String {
        guard let given else { return "amp" }
        guard ["amp", "fp16", "fp32"].contains(given) else { throw TrainingPrecisionError.unknown(given) }
        guard given != "amp" else {
            throw features.avx512bf16 || features.amxbf16
                ? TrainingPrecisionError.ampNotImplemented(feature: features.amxbf16 ? "AMX-BF16" : "AVX512_BF16")
                : TrainingPrecisionError.ampNeedsBF16Hardware
        }
        return given
    }
}

/// Why `train --precision` was refused.
public enum TrainingPrecisionError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    /// An explicit amp on a CPU without AVX512_BF16 or AMX-BF16.
    case ampNeedsBF16Hardware
    /// An explicit amp on a CPU with `feature`, which this build does not use for training.
    case ampNotImplemented(feature: String)

    private static let fallback = "leave --precision out (the reference's default amp is CUDA autocast, fp32 "
        + "arithmetic on a CPU) or pass --precision fp32"

    public var description: String {
        switch self {
        case let .unknown(value): return "--precision must be amp, fp16 or fp32, got \(value)"
        case .ampNeedsBF16Hardware:
            return "--precision amp (bf16 autocast) needs AVX512_BF16 or AMX-BF16, and this CPU has neither: "
                + TrainingPrecisionError.fallback
        case let .ampNotImplemented(feature):
            return "--precision amp (bf16 autocast) is not implemented in this build, although this CPU has "
                + "\(feature): " + TrainingPrecisionError.fallback
        }
    }
}
