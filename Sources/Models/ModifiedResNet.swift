import Layers
import Tensor

/// The reference's `ModifiedResNet` (RN50): a three-convolution stem with average pooling, Bottleneck stages
/// that downsample with average pools, and an attention pool in place of global average pooling.
public struct ModifiedResNet: StatefulModule, Sendable {
    public let stem: [(conv: Conv2d, norm: BatchNorm2d)]
    public let stages: [[Bottleneck]]
    public let attentionPool: AttentionPool2d

    public init(layers: [Int], outputDim: Int, heads: Int, resolution: Int, width: Int) {
        stem = [(Conv2d(inChannels: 3, outChannels: width / 2, kernelSize: 3, stride: 2, padding: 1), BatchNorm2d(channels: width / 2)),
                (Conv2d(inChannels: width / 2, outChannels: width / 2, kernelSize: 3, padding: 1), BatchNorm2d(channels: width / 2)),
                (Conv2d(inChannels: width / 2, outChannels: width, kernelSize: 3, padding: 1), BatchNorm2d(channels: width))]
        var inPlanes = width
        var stages: [[Bottleneck]] = []
        for (index, blocks) in layers.enumerated() {
            let planes = width << index
            var stage = [Bottleneck(inPlanes: inPlanes, planes: planes, stride: index == 0 ? 1 : 2)]
            inPlanes = planes * Bottleneck.expansion
            for _ in 1..<max(blocks, 1) { stage.append(Bottleneck(inPlanes: inPlanes, planes: planes, stride: 1)) }
            stages.append(stage)
        }
        self.stages = stages
        attentionPool = AttentionPool2d(spatialSize: resolution / 32, width: width * 32, heads: heads, outputDim: outputDim)
    }

    /// Image features `[N, embed_dim]` of images `[N, 3, R, R]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        var x = images
        for (conv, norm) in stem { x = try conv(x, normalisedBy: norm, applyingReLU: true) }
        x = try avgPool2d(x, kernelSize: 2)
        for stage in stages {
            for block in stage { x = try block(x) }
        }
        return try attentionPool(x)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries: [StateEntry] = []
        for (index, layer) in stem.enumerated() {
            entries += layer.conv.stateEntries(prefix: prefix.dotted("conv\(index + 1)"))
            entries += layer.norm.stateEntries(prefix: prefix.dotted("bn\(index + 1)"))
        }
        for (stageIndex, stage) in stages.enumerated() {
            for (blockIndex, block) in stage.enumerated() {
                entries += block.stateEntries(prefix: prefix.dotted("layer\(stageIndex + 1).\(blockIndex)"))
            }
        }
        entries += attentionPool.stateEntries(prefix: prefix.dotted("attnpool"))
        return entries
    }
}

/// 1×1 → 3×3 → (average pool) → 1×1 convolutions with BatchNorm, plus a shortcut that average-pools then
/// projects when the shape changes.
public struct Bottleneck: StatefulModule, Sendable {
    public static let expansion = 4
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let conv2: Conv2d, bn2: BatchNorm2d
    public let conv3: Conv2d, bn3: BatchNorm2d
    public let downsample: (conv: Conv2d, norm: BatchNorm2d)?
    public let stride: Int

    public init(inPlanes: Int, planes: Int, stride: Int) {
        conv1 = Conv2d(inChannels: inPlanes, outChannels: planes, kernelSize: 1)
        bn1 = BatchNorm2d(channels: planes)
        conv2 = Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, padding: 1)
        bn2 = BatchNorm2d(channels: planes)
        conv3 = Conv2d(inChannels: planes, outChannels: planes * Bottleneck.expansion, kernelSize: 1)
        bn3 = BatchNorm2d(channels: planes * Bottleneck.expansion)
        if stride > 1 || inPlanes != planes * Bottleneck.expansion {
            downsample = (Conv2d(inChannels: inPlanes, outChannels: planes * Bottleneck.expansion, kernelSize: 1),
                          BatchNorm2d(channels: planes * Bottleneck.expansion))
        } else {
            downsample = nil
        }
        self.stride = stride
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var out = try conv1(x, normalisedBy: bn1, applyingReLU: true)
        out = try conv2(out, normalisedBy: bn2, applyingReLU: true)
        if stride > 1 { out = try avgPool2d(out, kernelSize: stride) }
        out = try conv3(out, normalisedBy: bn3)
        var identity = x
        if let downsample {
            if stride > 1 { identity = try avgPool2d(identity, kernelSize: stride) }
            identity = try downsample.conv(identity, normalisedBy: downsample.norm)
        }
        return try addingReLU(out, identity)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        var entries = conv1.stateEntries(prefix: prefix.dotted("conv1")) + bn1.stateEntries(prefix: prefix.dotted("bn1"))
        entries += conv2.stateEntries(prefix: prefix.dotted("conv2")) + bn2.stateEntries(prefix: prefix.dotted("bn2"))
        entries += conv3.stateEntries(prefix: prefix.dotted("conv3")) + bn3.stateEntries(prefix: prefix.dotted("bn3"))
        if let downsample {
            entries += downsample.conv.stateEntries(prefix: prefix.dotted("downsample.0"))
            entries += downsample.norm.stateEntries(prefix: prefix.dotted("downsample.1"))
        }
        return entries
    }
}

/// Attention pooling: the mean token is prepended, positions added, and one multi-head attention over all
/// tokens gives the output of the mean token, projected by `c_proj`.
public struct AttentionPool2d: StatefulModule, Sendable {
    public let positionalEmbedding: Tensor
    public let query: Linear, key: Linear, value: Linear
    public let attention: MultiHeadAttention

    public init(spatialSize: Int, width: Int, heads: Int, outputDim: Int) {
        positionalEmbedding = Tensor(zeros: [spatialSize * spatialSize + 1, width])
        query = Linear(inFeatures: width, outFeatures: width)
        key = Linear(inFeatures: width, outFeatures: width)
        value = Linear(inFeatures: width, outFeatures: width)
        attention = MultiHeadAttention(projection: .separate(query: query, key: key, value: value),
                                       output: Linear(inFeatures: width, outFeatures: outputDim), heads: heads)
    }

    /// `[N, C, H, W]` feature maps → `[N, outputDim]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try attention.firstPositionOutput(tokens(x))
    }

    /// The attention's input: the mean token, then the flattened map `[N, 1 + H·W, C]`, plus positions.
    func tokens(_ x: Tensor) throws -> Tensor {
        let batch = x.shape[0], channels = x.shape[1], tokens = x.shape[2] * x.shape[3]
        let sequence = try x.reshaped([batch, channels, tokens]).permuted([0, 2, 1]).contiguous()
        let withMean = try prependingToken(mean(sequence, axis: 1), to: sequence)
        guard withMean.shape[1] == positionalEmbedding.shape[0] else {
            throw TensorError.shapeMismatch(op: "AttentionPool2d positional embedding", lhs: withMean.shape,
                                            rhs: positionalEmbedding.shape)
        }
        return try add(withMean, positionalEmbedding)
    }

    public func stateEntries(prefix: String) -> [StateEntry] {
        [StateEntry(prefix.dotted("positional_embedding"), positionalEmbedding)]
            + key.stateEntries(prefix: prefix.dotted("k_proj"))
            + query.stateEntries(prefix: prefix.dotted("q_proj"))
            + value.stateEntries(prefix: prefix.dotted("v_proj"))
            + attention.output.stateEntries(prefix: prefix.dotted("c_proj"))
    }
}
