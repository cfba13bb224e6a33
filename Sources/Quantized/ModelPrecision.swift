import CPUFeatures
import Dispatch
import Layers
import Models
import Tensor

/// The arithmetic inference runs in (`--precision`).
public enum InferencePrecision: String, CaseIterable, Sendable {
    /// fp32 everywhere; each Linear shape runs on OpenBLAS or oneDNN, whichever measured faster here.
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
    /// convolutions and the final projections stay fp32. For fp32, each distinct layer shape is timed on OpenBLAS
    /// and oneDNN and runs on the faster. For int8, `int8Weights` (by checkpoint key) are used as stored; other
    /// layers are quantised here.
    /// - Throws: `QuantizationError.unsupported` for bf16 without bf16 hardware, `DNNLError` if oneDNN fails.
    @discardableResult
    public func use(precision: InferencePrecision, int8Weights: [String: Int8Weights] = [:]) throws -> PrecisionReport {
        try precision.checkSupported()
        let layers = linearLayers
        var storedWeights: [ObjectIdentifier: Int8Weights] = [:]
        for (key, layer) in QuantizedCheckpoint.linearWeightKeys(of: self) {
            if let weights = int8Weights[key] { storedWeights[ObjectIdentifier(layer.weight.storage)] = weights }
        }
        var implementations: Set<String> = []
        var onDNNL = 0
        var fp32Choice: [FloatShape: Bool] = [:]
        for layer in layers {
            let kernel: (any LinearKernel)?
            switch precision {
            case .int8:
                let int8 = try storedWeights[ObjectIdentifier(layer.weight.storage)]
                    .map { try Int8Linear(weights: $0, bias: layer.bias?.toArray()) } ?? Int8Linear(layer)
                implementations.insert(int8.implementation)
                kernel = int8
            case .bf16:
                let bf16 = try FloatLinear(layer, bf16: true)
                implementations.insert(bf16.implementation)
                kernel = bf16
            case .fp32:
                let candidate = try FloatLinear(layer, bf16: false)
                let shape = FloatShape(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, bias: layer.bias != nil)
                let faster = try fp32Choice[shape] ?? oneDNNIsFaster(candidate, than: layer)
                fp32Choice[shape] = faster
                if faster { implementations.insert(candidate.implementation) }
                kernel = faster ? candidate : nil
            }
            layer.kernelSlot.install(kernel)
            if kernel != nil { onDNNL += 1 }
        }
        return PrecisionReport(precision: precision, instructionSet: .effective, onDNNL: onDNNL, layers: layers.count,
                               implementations: implementations.sorted())
    }
}

/// A Linear shape, for deciding fp32 OpenBLAS against oneDNN once per shape.
private struct FloatShape: Hashable {
    let inFeatures: Int, outFeatures: Int, bias: Bool
}

/// Rows of the timing probe: a ViT-B/16 image's tokens, about the row count a batch of texts gives too.
private let probeRows = 197 * 2

/// Times `kernel` and the layer's OpenBLAS product on the same input (best of three each, alternating);
/// oneDNN must win by 5% to be chosen.
private func oneDNNIsFaster(_ kernel: FloatLinear, than layer: Linear) throws -> Bool {
    let input = Tensor(zeros: [probeRows, layer.inFeatures])
    for index in 0..<input.count { input.storage.pointer[index] = Float(index % 17) / 17 - 0.5 }
    func seconds(_ body: () throws -> Tensor) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start)
    }
    _ = try kernel(input)
    _ = try linear(input, weight: layer.weight, bias: layer.bias)
    var dnnl = Double.infinity, blas = Double.infinity
    for _ in 0..<3 {
        dnnl = min(dnnl, try seconds { try kernel(input) })
        blas = min(blas, try seconds { try linear(input, weight: layer.weight, bias: layer.bias) })
    }
    return dnnl < 0.95 * blas
}
