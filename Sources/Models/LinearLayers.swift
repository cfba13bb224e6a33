import Layers

// Every `Linear` of a model, for code that replaces their products (int8 / bf16 kernels, see the Quantized target).
// The projections `visual.proj` and `text_projection` are plain matrices, not `Linear`s, and stay fp32.

extension CLIPModel {
    /// The fully connected layers of both towers, in checkpoint order.
    public var linearLayers: [Linear] {
        let vision: [Linear]
        switch visual {
        case let .transformer(tower): vision = tower.blocks.flatMap(\.linearLayers)
        case let .resnet(tower): vision = tower.attentionPool.linearLayers
        }
        return vision + text.layers.flatMap(\.linearLayers)
    }
}

extension ResidualAttentionBlock {
    /// in_proj, out_proj, c_fc, c_proj.
    public var linearLayers: [Linear] { [inProjection, attention.output, fc, projection] }
}

extension BertLayer {
    /// query, key, value, attention output, intermediate, output.
    public var linearLayers: [Linear] { [query, key, value, attention.output, intermediate, output] }
}

extension AttentionPool2d {
    /// q_proj, k_proj, v_proj, c_proj.
    public var linearLayers: [Linear] { [query, key, value, attention.output] }
}
