import Foundation
import Layers
import Tensor

/// AdamW with torch 1.13 semantics (single-tensor path): per parameter, step += 1; p ← p·(1 − lr·wd);
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε). No amsgrad, no maximize.
///
/// Parameters form the reference's two groups (`ParameterGroups`): group 0 without weight decay, group 1 with it;
/// indices number them group by group, as torch's `state_dict()` does.
public final class AdamW: @unchecked Sendable {
    /// One optimised tensor.
    public struct Parameter: Sendable {
        /// The state-dict name as the DDP model has it (`module.` + name).
        public let name: String
        public let tensor: Tensor
    }

    /// The moments of one parameter (created at its first step, as torch creates them lazily).
    public struct Moments: Sendable {
        public var step: Float
        public let expAvg: Tensor
        public let expAvgSq: Tensor
    }

    /// Group 0 (no weight decay) then group 1 (weight decay).
    public let groups: [[Parameter]]
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double
    /// The learning rate of the last step (what torch keeps in each group's `lr`).
    public private(set) var learningRate: Double
    /// State by parameter index (group 0's parameters first).
    public private(set) var moments: [Int: Moments] = [:]

    /// Builds the reference's groups from `entries` (unprefixed state-dict names; buffers skipped), leaving out
    /// parameters for which `trainable` is false (`requires_grad = False`).
    public init(entries: [StateEntry], trainable: (Tensor) -> Bool = { _ in true }, learningRate: Double,
                beta1: Double, beta2: Double, eps: Double, weightDecay: Double) {
        groups = ParameterGroups.split(entries.filter { $0.kind == .parameter && trainable($0.tensor) })
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// Every parameter in index order.
    public var parameters: [Parameter] { groups.flatMap { $0 } }

    /// One optimizer step at learning rate `lr` over the parameters that have a gradient in `gradients`.
    public func step(gradients: GradientStore, learningRate lr: Double) {
        learningRate = lr
        var index = 0
        for (groupIndex, group) in groups.enumerated() {
            let decay = groupIndex == 0 ? 0 : weightDecay
            for parameter in group {
                defer { index += 1 }
                guard let gradient = gradients.gradient(for: parameter.tensor) else { continue }
                var state = moments[index] ?? Moments(step: 0, expAvg: Tensor(zeros: parameter.tensor.shape),
                                                      expAvgSq: Tensor(zeros: parameter.tensor.shape))
                state.step += 1
                update(parameter.tensor, gradient: gradient.contiguous(), state: state, lr: lr, weightDecay: decay)
                moments[index] = state
            }
        }
    }

    /// The fused elementwise update of one parameter, in torch's operation order and precision (the scalars are
    /// computed in double and rounded to float as torch passes them to its float kernels).
    private func update(_ parameter: Tensor, gradient: Tensor, state: Moments, lr: Double, weightDecay: Double) {
        let step = Double(state.step)
        let biasCorrection1 = 1 - pow(beta1, step), biasCorrection2 = 1 - pow(beta2, step)
        let negativeStepSize = Float(-(lr / biasCorrection1))
        let correction2Root = Float(biasCorrection2.squareRoot())
        let decay = Float(1 - lr * weightDecay)
        let b1 = Float(beta1), b2 = Float(beta2), oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2)
        let epsilon = Float(eps)
        let p = parameter.storage.pointer + parameter.offset
        let g = UnsafePointer(gradient.storage.pointer + gradient.offset)
        let m = state.expAvg.storage.pointer, v = state.expAvgSq.storage.pointer
        withExtendedLifetime(gradient) {
            Parallel.forRanges(parameter.count, grain: 65_536) { range in
                for i in range {
                    let gi = g[i]
                    let decayed = p[i] * decay
                    let mi = m[i] * b1 + oneMinusB1 * gi
                    let vi = v[i] * b2 + oneMinusB2 * gi * gi
                    m[i] = mi
                    v[i] = vi
                    p[i] = decayed + negativeStepSize * mi / (vi.squareRoot() / correction2Root + epsilon)
                }
            }
        }
    }

    /// Replaces the moments (resuming from a checkpoint); `restored` maps parameter indices to moments whose
    /// shapes match the parameters.
    /// - Throws: `TrainingError.optimizerStateMismatch` naming the index and parameter that do not fit.
    public func restore(moments restored: [Int: Moments], learningRate lr: Double) throws {
        let all = parameters
        var checked: [Int: Moments] = [:]
        for (index, state) in restored {
            guard index >= 0, index < all.count else {
                throw TrainingError.optimizerStateMismatch("state for parameter index \(index) but the model trains \(all.count)")
            }
            let shape = all[index].tensor.shape
            guard state.expAvg.shape == shape, state.expAvgSq.shape == shape else {
                throw TrainingError.optimizerStateMismatch(
                    "index \(index) (\(all[index].name)) has moments \(state.expAvg.shape), the parameter \(shape)")
            }
            checked[index] = Moments(step: state.step, expAvg: state.expAvg.contiguous(),
                                     expAvgSq: state.expAvgSq.contiguous())
        }
        moments = checked
        learningRate = lr
    }
}

/// The reference's split of parameters into AdamW groups (main.py): names as the DDP model has them (`module.`
/// prefix) that contain `bn`, `ln`, `bias` or `logit_scale` get no weight decay; the rest do. So BERT
/// `LayerNorm.weight` and RN50 `downsample.1.weight` are decayed.
public enum ParameterGroups {
    /// The prefix DistributedDataParallel puts before every name.
    public static let modulePrefix = "module."

    /// Whether the (prefixed) name escapes weight decay.
    public static func excludedFromDecay(_ prefixedName: String) -> Bool {
        prefixedName.contains("bn") || prefixedName.contains("ln") || prefixedName.contains("bias")
            || prefixedName.contains("logit_scale")
    }

    /// [no-decay group, decay group], each in the entries' order, names prefixed with `module.`.
    public static func split(_ entries: [StateEntry]) -> [[AdamW.Parameter]] {
        let parameters = entries.map { AdamW.Parameter(name: modulePrefix + $0.name, tensor: $0.tensor) }
        return [parameters.filter { excludedFromDecay($0.name) }, parameters.filter { !excludedFromDecay($0.name) }]
    }
}
