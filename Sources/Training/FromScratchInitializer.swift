import Checkpoint
import Foundation
import Models
import Tensor

/// The reference's from-scratch initialisation (REFERENCE §1.7), by state-dict name: ViT embeddings and `proj`
/// N(0,1)·width^−½, convolutions and Linear layers torch's defaults (U(±1/√fan_in) for weights and biases), MHA
/// `in_proj_weight` Xavier-uniform with zero biases; RN50 attention-pool tensors N(0, in^−½), every Bottleneck's
/// `bn3.weight` 0; BERT Linear/Embedding weights N(0, initializer_range) with zero biases; `text_projection`
/// N(0, H^−½); `logit_scale` ln(1/0.07); LayerNorm/BatchNorm at 1/0. The tensors the reference converts to fp16
/// before training are then rounded to fp16, as its `load()` does. The reference's init is unseeded; this one
/// takes a seed so runs can be repeated.
public enum FromScratchInitializer {
    /// Overwrites every parameter of `model` (buffers keep their identity values).
    public static func initialize(_ model: CLIPModel, seed: UInt64) {
        var random = GaussianSource(seed: seed)
        let config = model.config
        for entry in model.stateEntries() where entry.kind == .parameter {
            guard let rule = rule(for: entry.name, shape: entry.tensor.shape, config: config) else { continue }
            let pointer = entry.tensor.storage.pointer + entry.tensor.offset
            for index in 0..<entry.tensor.count {
                var value: Float
                switch rule {
                case let .normal(std): value = Float(random.normal() * std)
                case let .uniform(bound): value = Float((random.uniform() * 2 - 1) * bound)
                case let .constant(constant): value = Float(constant)
                }
                if ReferencePrecision.isHalf(entry.name) { value = Float(Float16(value)) }
                pointer[index] = value
            }
        }
    }

    enum Rule { case normal(Double), uniform(Double), constant(Double) }

    /// The rule for one parameter; nil keeps the constructor's value (norm layers at 1/0, `logit_scale`).
    static func rule(for name: String, shape: [Int], config: ModelConfig) -> Rule? {
        let last = name.split(separator: ".").last.map(String.init) ?? name
        let fanIn = Double(shape.dropFirst().reduce(1, *))
        if name == "text_projection" { return .normal(1 / Double(config.textHiddenSize).squareRoot()) }
        if name == "logit_scale" { return nil }
        if name.hasPrefix("bert.") {
            if name.contains("LayerNorm") { return nil }
            return last == "bias" ? .constant(0) : .normal(config.textInitializerRange)
        }
        if name.contains(".ln_") || name.hasSuffix("ln_pre.weight") || name.hasSuffix("ln_post.weight") { return nil }
        if name.contains("attnpool.") {
            if last == "positional_embedding" { return .normal(1 / Double(shape[1]).squareRoot()) }
            if last == "weight" { return .normal(1 / Double(shape[1]).squareRoot()) }
            return .uniform(1 / Double(shape.count > 0 ? shape[0] : 1).squareRoot())
        }
        if name.contains(".bn") || name.hasSuffix("downsample.1.weight") || name.hasSuffix("downsample.1.bias") {
            return name.hasSuffix("bn3.weight") ? .constant(0) : nil
        }
        switch last {
        case "class_embedding", "positional_embedding", "proj":
            return .normal(1 / Double(config.visionWidth).squareRoot())
        case "in_proj_weight":
            return .uniform((6 / Double(shape[0] + shape[1])).squareRoot())
        case "in_proj_bias":
            return .constant(0)
        case "bias":
            if name.hasSuffix("out_proj.bias") { return .constant(0) }
            return .uniform(1 / linearFanIn(name, config: config).squareRoot())
        default:
            return .uniform(1 / max(fanIn, 1).squareRoot())
        }
    }

    /// The fan-in of the Linear layer whose bias is `name` (its weight's second dimension).
    private static func linearFanIn(_ name: String, config: ModelConfig) -> Double {
        if name.hasSuffix("mlp.c_fc.bias") { return Double(config.visionWidth) }
        if name.hasSuffix("mlp.c_proj.bias") { return Double(config.visionWidth * 4) }
        return Double(config.visionWidth)
    }
}

/// Uniform and normal draws from MT19937 (53-bit uniforms, Box–Muller normals).
struct GaussianSource {
    private var generator: MersenneTwister19937
    private var spare: Double?

    init(seed: UInt64) { generator = MersenneTwister19937(seed: seed) }

    /// A uniform value in [0, 1).
    mutating func uniform() -> Double {
        let high = UInt64(generator.next() >> 5), low = UInt64(generator.next() >> 6)
        return Double(high * 67_108_864 + low) / 9_007_199_254_740_992
    }

    /// A standard normal value.
    mutating func normal() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let u1 = max(uniform(), Double.leastNonzeroMagnitude), u2 = uniform()
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spare = radius * sin(2 * Double.pi * u2)
        return radius * cos(2 * Double.pi * u2)
    }
}
