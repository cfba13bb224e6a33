import Layers
import Models
import Tensor
import Training
import XCTest

/// Every composite backward pass written for training, against central finite differences on small shapes:
/// loss = Σ w·output for a fixed random w; each parameter element and input element (a seeded sample of them)
/// must satisfy |analytic − numeric| ≤ 3e-3 + 2e-2·|numeric| (fp32 differences with step 1e-2; 1e-3 for the
/// ResNet block, whose ReLUs after batch statistics put kinks within 1e-2 of some samples).
final class FiniteDifferenceTests: XCTestCase {
    private struct Generator {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
            let t = Tensor(zeros: shape)
            for i in 0..<t.count { t.storage.pointer[i] = next() * scale }
            return t
        }
    }

    private func randomise(_ entries: [StateEntry], _ generator: inout Generator) {
        for entry in entries where entry.kind == .parameter {
            let t = entry.tensor
            let isScale = entry.name.hasSuffix("weight") && (entry.name.contains("bn") || entry.name.contains("ln")
                || entry.name.contains("LayerNorm") || entry.name.contains("downsample.1"))
            for i in 0..<t.count { t.storage.pointer[t.offset + i] = isScale ? 1 + 0.2 * generator.next() : 0.5 * generator.next() }
        }
    }

    /// Compares `backward`'s gradients of every parameter in `entries` and of `input` with finite differences.
    private func check(_ label: String, entries: [StateEntry], input: Tensor, outputShape: [Int], step: Float = 1e-2,
                       forward: (Tensor) throws -> Tensor,
                       backward: (Tensor, Tensor, GradientStore) throws -> Tensor?) throws {
        var generator = Generator(state: 42)
        let weights = generator.tensor(outputShape)
        func loss() throws -> Double {
            let output = try forward(input).toArray(), w = weights.toArray()
            XCTAssertEqual(output.count, w.count)
            return zip(output, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let gradients = GradientStore()
        let gradInput = try backward(input, weights, gradients)
        var targets: [(String, Tensor, Tensor?)] = entries.filter { $0.kind == .parameter }
            .map { ($0.name, $0.tensor, gradients.gradient(for: $0.tensor)) }
        if let gradInput { targets.append(("input", input, gradInput)) }
        for (name, tensor, gradient) in targets {
            let analytic = gradient?.toArray() ?? [Float](repeating: 0, count: tensor.count)
            for _ in 0..<min(tensor.count, 6) {
                let index = Int((generator.next() + 1) / 2 * Float(tensor.count - 1))
                let pointer = tensor.storage.pointer + tensor.offset + index
                let original = pointer.pointee
                pointer.pointee = original + step
                let plus = try loss()
                pointer.pointee = original - step
                let minus = try loss()
                pointer.pointee = original
                let numeric = (plus - minus) / Double(2 * step)
                XCTAssertLessThanOrEqual(abs(Double(analytic[index]) - numeric), 3e-3 + 2e-2 * abs(numeric),
                                         "\(label) d/d \(name)[\(index)]: analytic \(analytic[index]), numeric \(numeric)")
            }
        }
    }

    func testResidualAttentionBlock() throws {
        var generator = Generator(state: 1)
        let block = ResidualAttentionBlock(width: 8, heads: 2)
        randomise(block.stateEntries(prefix: "block"), &generator)
        try check("ViT block", entries: block.stateEntries(prefix: "block"), input: generator.tensor([2, 3, 8]),
                  outputShape: [2, 3, 8], forward: { try block.forwardTraining($0).output },
                  backward: { x, g, store in try block.backward(g, cache: block.forwardTraining(x).cache, into: store) })
    }

    func testBertLayerWithMaskAndDropout() throws {
        var generator = Generator(state: 2)
        let layer = BertLayer(hidden: 8, intermediate: 12, heads: 2)
        randomise(layer.stateEntries(prefix: "layer"), &generator)
        let keyMask = try Tensor(shape: [2, 1, 1, 4], data: [0, 0, 0, -10000, 0, 0, -10000, -10000])
        let context = DropoutContext(enabled: true, seed: 7)
        let dropout = Dropout(probability: 0.25)
        let masks = BertLayer.DropoutMasks(attention: context.mask(dropout, shape: [4, 4, 4], site: 1),
                                           attentionOutput: context.mask(dropout, shape: [2, 4, 8], site: 2),
                                           output: context.mask(dropout, shape: [2, 4, 8], site: 3))
        try check("BERT layer", entries: layer.stateEntries(prefix: "layer"), input: generator.tensor([2, 4, 8]),
                  outputShape: [2, 4, 8], forward: { try layer.forwardTraining($0, keyMask: keyMask, masks: masks).output },
                  backward: { x, g, store in
                      try layer.backward(g, cache: layer.forwardTraining(x, keyMask: keyMask, masks: masks).cache, into: store)
                  })
    }

    func testBottleneckWithDownsampleInTrainingMode() throws {
        var generator = Generator(state: 3)
        let block = Bottleneck(inPlanes: 4, planes: 2, stride: 2)
        randomise(block.stateEntries(prefix: "layer2.0"), &generator)
        try check("Bottleneck", entries: block.stateEntries(prefix: "layer2.0"), input: generator.tensor([3, 4, 4, 4]),
                  outputShape: [3, 8, 2, 2], step: 1e-3, forward: { try block.forwardTraining($0).output },
                  backward: { x, g, store in try block.backward(g, cache: block.forwardTraining(x).cache, into: store) })
    }

    func testAttentionPool() throws {
        var generator = Generator(state: 4)
        let pool = AttentionPool2d(spatialSize: 2, width: 8, heads: 2, outputDim: 6)
        randomise(pool.stateEntries(prefix: "attnpool"), &generator)
        try check("attention pool", entries: pool.stateEntries(prefix: "attnpool"), input: generator.tensor([2, 8, 2, 2]),
                  outputShape: [2, 6], forward: { try pool.forwardTraining($0).output },
                  backward: { x, g, store in try pool.backward(g, cache: pool.forwardTraining(x).cache, into: store) })
    }

    func testContrastiveLossWithGatheredFeatures() throws {
        var generator = Generator(state: 5)
        let images = l2Normalize(generator.tensor([3, 5])).output, texts = l2Normalize(generator.tensor([3, 5])).output
        let otherImages = l2Normalize(generator.tensor([2, 5])).output, otherTexts = l2Normalize(generator.tensor([2, 5])).output
        let scale = Tensor(scalar: 3)
        func compute() throws -> ContrastiveLossResult {
            try ContrastiveLoss.compute(imageFeatures: images, textFeatures: texts, logitScale: scale.toArray()[0],
                                        gatheredImageFeatures: otherImages, gatheredTextFeatures: otherTexts)
        }
        let result = try compute()
        let step: Float = 1e-2
        for (name, tensor, gradient) in [("image", images, result.gradImageFeatures), ("text", texts, result.gradTextFeatures),
                                         ("scale", scale, Tensor(scalar: result.gradLogitScale))] {
            for index in 0..<tensor.count {
                let pointer = tensor.storage.pointer + tensor.offset + index
                let original = pointer.pointee
                pointer.pointee = original + step
                let plus = try compute().loss
                pointer.pointee = original - step
                let minus = try compute().loss
                pointer.pointee = original
                let numeric = Double(plus - minus) / Double(2 * step)
                let analytic = Double(gradient.toArray()[index])
                XCTAssertLessThanOrEqual(abs(analytic - numeric), 3e-3 + 2e-2 * abs(numeric), "loss d/d \(name)[\(index)]")
            }
        }
        // Gathered rows only add negatives: the local gradient has the local rows' shape.
        XCTAssertEqual(result.gradImageFeatures.shape, [3, 5])
    }
}
