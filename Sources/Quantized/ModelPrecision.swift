import CPUFeatures
import Layers
import Models
import Tensor

/// The arithmetic inference runs in (`--precision`).
public enum InferencePrecision: String, CaseIterable, Sendable {
    /// fp32 everywhere, on the engine's OpenBLAS path: deterministic, so the same inputs give the same files on
    /// every run and rank count (a per-shape timing choice between OpenBLAS and oneDNN was dropped: it made the
    /// bits depend on a measurement, and it chose wrongly on the 16-core Xeon).
    case fp32
    /// The Linear layers in bf16 (fp32 accumulation): CPUs with AVX512-BF16 or AMX only.
    case bf16
    /// The Linear layers with int8 weights (per output channel) and int8 activations (per token, dynamic).
    case int8

    /// Refuses bf16 where oneDNN cannot run it on bf16 hardware, naming what is missing.
    /// - Throws: `QuantizationError.unsupported`.
    public func checkSupported(instructionSet: DNNLInstructionSet = .effective) throws {
        guard self == .bf16, !instructionSet.hasBF16 else { return }
        let cpu = cnclip_read_cpu_features()
        let reason = cpu.avx512bf16 || cpu.amxbf16
            ? "the CPU has \(cpu.amxbf16 ? "AMX-BF16" : "AVX512_BF16") but oneDNN is capped at \(instructionSet) (ONEDNN_MAX_CPU_ISA)"
            : "it needs AVX512_BF16 or AMX-BF16, and this CPU has neither (oneDNN ISA: \(instructionSet))"
        throw QuantizationError.unsupported(precision: rawValue, reason: reason)
    }
}

/// What `CLIPModel.use(precision:)` installed.
public struct PrecisionReport: Sendable, CustomStringConvertible {
    public let precision: InferencePrecision
    public let instructionSet: DNNLInstructionSet
    /// Linear layers now running on oneDNN, of `layers`.
    public let onDNNL: Int, layers: Int
    /// oneDNN implementations in use (e.g. "gemm:jit").
    public let implementations: [String]

    public var description: String {
        "precision \(precision.rawValue): \(onDNNL) of \(layers) linear layers on oneDNN "
            + "(\(implementations.isEmpty ? "none" : implementations.joined(separator: ", ")); ISA \(instructionSet)), "
            + "the rest on OpenBLAS fp32"
    }
}

extension CLIPModel {
    /// Makes every Linear layer compute in `precision` (weights converted once, here); attention products, norms,
    /// convolutions and the final projections stay fp32. fp32 leaves every layer on OpenBLAS. For int8, `int8Weights`
    /// (by checkpoint key) are used as stored; other layers are quantised here.
    ///
    /// Unless `keepFloatWeights`, each converted layer's fp32 weight is released as soon as its int8 or bf16 copy
    /// exists (`TensorStorage.releaseContents`), so a model holds its Linear weights once; the model can then not
    /// go back to fp32, and `stateEntries()` no longer reads those weights. `prepare` runs on each layer just
    /// before it is converted (a benchmark fills random weights there, one layer at a time).
    /// - Throws: `QuantizationError.unsupported` for bf16 without bf16 hardware, `DNNLError` if oneDNN fails,
    ///   `TensorError.releasedValues` when a layer that needs its fp32 weight no longer has it.
    @discardableResult
    public func use(precision: InferencePrecision, int8Weights: [String: Int8Weights] = [:],
                    keepFloatWeights: Bool = false, activationScaling: ActivationScaling = .perToken,
                    prepare: ((Linear) -> Void)? = nil) throws -> PrecisionReport {
        try precision.checkSupported()
        let layers = linearLayers
        var storedWeights: [ObjectIdentifier: Int8Weights] = [:]
        for (key, layer) in QuantizedCheckpoint.linearWeightKeys(of: self) {
            if let weights = int8Weights[key] { storedWeights[ObjectIdentifier(layer.weight.storage)] = weights }
        }
        var implementations: Set<String> = []
        var onDNNL = 0
        for layer in layers {
            prepare?(layer)
            let kernel = try layer.use(precision: precision, int8Weights: storedWeights[ObjectIdentifier(layer.weight.storage)],
                                       keepFloatWeight: keepFloatWeights, activationScaling: activationScaling)
            if let kernel {
                onDNNL += 1
                implementations.insert(kernel.implementation)
            }
        }
        return PrecisionReport(precision: precision, instructionSet: .effective, onDNNL: onDNNL, layers: layers.count,
                               implementations: implementations.sorted())
    }
}

extension Linear {
    /// Installs this layer's kernel for `precision` (nil for fp32) and, unless `keepFloatWeight`, releases the fp32
    /// weight's memory where the layer owns the whole buffer (a view into a larger one stays).
    /// - Parameter int8Weights: stored int8 weights to use as they are (int8 only), else the fp32 weight is quantised.
    /// - Throws: `TensorError.releasedValues` when the fp32 weight is needed but was released; `DNNLError`.
    @discardableResult
    public func use(precision: InferencePrecision, int8Weights: Int8Weights? = nil,
                    keepFloatWeight: Bool = false,
                    activationScaling: ActivationScaling = .perToken) throws -> (any DNNLKernel)? {
        let needsFloatWeight = precision == .bf16 || (precision == .int8 && int8Weights == nil)
            || (precision == .fp32 && kernelSlot.kernel != nil)
        if needsFloatWeight, weight.storage.isReleased {
            throw TensorError.releasedValues(op: "Linear.use(precision: \(precision.rawValue))")
        }
        let kernel: (any DNNLKernel)?
        switch precision {
        case .int8:
            kernel = try int8Weights.map {
                try Int8Linear(weights: $0, bias: bias?.toArray(), activationScaling: activationScaling)
            } ?? Int8Linear(self, activationScaling: activationScaling)
        case .bf16: kernel = try FloatLinear(self, bf16: true)
        case .fp32: kernel = nil
        }
        kernelSlot.install(kernel)
        if kernel != nil, !keepFloatWeight, weight.offset == 0, weight.count == weight.storage.count {
            weight.storage.releaseContents()
        }
        return kernel
    }
}

/// A Linear kernel running on oneDNN.
public protocol DNNLKernel: LinearKernel {
    /// The oneDNN implementation it runs on (e.g. "gemm:jit").
    var implementation: String { get }
}

extension Int8Linear: DNNLKernel {}
extension FloatLinear: DNNLKernel {}
