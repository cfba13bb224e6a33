import Layers
import Models
import Tensor

/// The model `options` name, with deterministic random weights.
func randomWeightModel(_ options: ModelOptions) throws -> CLIPModel {
    try randomWeightModel(options, deferringLinearWeights: false).model
}

/// The model `options` name with deterministic random weights; with `deferringLinearWeights`, the Linear weights
/// stay unwritten (no memory yet) until `RandomWeights.fill` is called on each layer.
func randomWeightModel(_ options: ModelOptions,
                       deferringLinearWeights: Bool) throws -> (model: CLIPModel, weights: RandomWeights) {
    let clip = try CLIPModel(config: try options.config())
    let weights = RandomWeights(clip)
    let deferred = deferringLinearWeights ? Set(clip.linearLayers.map { ObjectIdentifier($0.weight.storage) }) : []
    for entry in clip.stateEntries() where !deferred.contains(ObjectIdentifier(entry.tensor.storage)) {
        weights.fill(entry.tensor)
    }
    return (clip, weights)
}

/// Fills every tensor with small deterministic values (BN variances positive, norms near 1) so the forward pass
/// does realistic arithmetic without overflow.
func fillWithRandomWeights(_ model: CLIPModel) {
    let weights = RandomWeights(model)
    for entry in model.stateEntries() { weights.fill(entry.tensor) }
}

/// One linear congruential sequence over all of a model's tensors in `stateEntries()` order, each tensor's part
/// reachable directly (by jumping ahead), so tensors can be filled in any order with the same values.
struct RandomWeights: Sendable {
    private struct Part: Sendable {
        let start: UInt64, count: Int, scale: Float, isScale: Bool
    }
    private static let multiplier: UInt64 = 6_364_136_223_846_793_005, increment: UInt64 = 1_442_695_040_888_963_407
    private let parts: [ObjectIdentifier: Part]

    init(_ model: CLIPModel) {
        var state: UInt64 = 12345
        var parts: [ObjectIdentifier: Part] = [:]
        for entry in model.stateEntries() {
            let fanIn = entry.tensor.rank >= 2 ? entry.tensor.count / entry.tensor.shape[0] : 1
            let isScale = entry.name.hasSuffix("running_var") || entry.name.hasSuffix("LayerNorm.weight")
                || (entry.name.contains("ln") || entry.name.contains("bn")) && entry.name.hasSuffix("weight")
            parts[ObjectIdentifier(entry.tensor.storage)] = Part(
                start: state, count: entry.tensor.count, scale: 1 / Float(max(fanIn, 1)).squareRoot(), isScale: isScale)
            state = RandomWeights.advance(state, by: UInt64(entry.tensor.count))
        }
        self.parts = parts
    }

    /// Writes the values of the state entry whose storage `tensor` has (from the storage's start).
    func fill(_ tensor: Tensor) {
        guard let part = parts[ObjectIdentifier(tensor.storage)] else { return }
        var state = part.start
        let pointer = tensor.storage.pointer
        for index in 0..<part.count {
            state = state &* RandomWeights.multiplier &+ RandomWeights.increment
            let unit = Float(state >> 40) / Float(1 << 24) * 2 - 1
            pointer[index] = part.isScale ? 1 + 0.1 * unit : unit * part.scale
        }
    }

    /// Fills a Linear layer's weight (the `prepare` hook of `use(precision:)`).
    func fill(_ layer: Linear) { fill(layer.weight) }

    /// The state `steps` steps after `state` (x → a·x + c composed by repeated squaring).
    static func advance(_ state: UInt64, by steps: UInt64) -> UInt64 {
        var a = multiplier, c = increment, resultA: UInt64 = 1, resultC: UInt64 = 0, remaining = steps
        while remaining > 0 {
            if remaining & 1 == 1 {
                resultA = resultA &* a
                resultC = resultC &* a &+ c
            }
            c = c &* (a &+ 1)
            a = a &* a
            remaining >>= 1
        }
        return resultA &* state &+ resultC
    }
}
