import ArgumentParser
import Foundation
import Layers
import Models
import OpenBLASCoreType
import Quantized
import Tensor

/// `cnclip bench encode`: images/s and texts/s of the towers on random weights, with GFLOP/s against the peak.
struct EncodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Throughput of encode_image and encode_text (random weights).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("image-batch"), help: "Images per forward pass (0 skips the vision tower).")
    var imageBatch = 8

    @Option(name: .customLong("text-batch"), help: "Texts per forward pass (0 skips the text tower).")
    var textBatch = 32

    @OptionGroup var shape: ModelBenchOptions
    @OptionGroup var precision: PrecisionOptions
    @OptionGroup var activations: ActivationScalingOption

    func run() throws {
        options.applyThreads()
        // Reduced precisions fill each Linear weight just before converting it and then release it, so the fp32
        // weights of all layers never coexist (peak memory as with an int8 checkpoint).
        let (clip, weights) = try randomWeightModel(model, deferringLinearWeights: precision.precision != .fp32)
        let engine = try precision.apply(to: clip, activationScaling: activations.activationScaling, prepare: weights.fill)
        let config = clip.config
        let contextLength = shape.contextLength, peak = machinePeak(shape.peak)
        var measurements: [Measurement] = []
        if imageBatch > 0 {
            let resolution = config.imageResolution
            let images = try benchTensor([imageBatch, 3, resolution, resolution], seed: 11)
            let seconds = try time(options) { _ = try clip.encodeImage(images) }
            measurements.append(Measurement(
                bench: "encode-image \(model.visionModel) \(precision.precision.rawValue)", shape: "\(imageBatch)x3x\(resolution)x\(resolution)",
                seconds: seconds, flops: Double(imageBatch) * imageFLOPs(clip), bytes: nil, items: Double(imageBatch)))
        }
        if textBatch > 0 {
            let tokens = benchTokens(count: textBatch, length: contextLength)
            let seconds = try time(options) { _ = try clip.encodeText(tokens) }
            measurements.append(Measurement(
                bench: "encode-text \(model.textModel) \(precision.precision.rawValue)", shape: "\(textBatch)x\(contextLength)", seconds: seconds,
                flops: Double(textBatch) * textFLOPs(config, length: contextLength), bytes: nil, items: Double(textBatch)))
        }
        report(measurements, options: options, peakGFLOPS: peak)
        if !options.json {
            print("FLOPs as executed: the last block (and the ResNet attention pool) computes the class token alone; "
                  + "3x3 convolutions run as Winograd F(2x2, 3x3).")
            for m in measurements { print("\(m.bench): \(String(format: "%.2f", m.items / m.median)) items/s") }
            print("peak resident memory: \(peakResidentMegabytes()) MB")
            print(engine)
        }
    }
}

/// The text shape and machine peak every model benchmark takes.
struct ModelBenchOptions: ParsableArguments {
    @Option(name: .customLong("context-length"), help: "Tokens per text.")
    var contextLength = 52

    @Option(name: .long, help: "fp32 peak in GFLOP/s for the fraction column (default: read from this CPU).")
    var peak: Double?
}

/// `count` deterministic token rows `[CLS] … [SEP]` of `length` ids from the common part of the vocabulary.
func benchTokens(count: Int, length: Int) -> [[Int]] {
    var state: UInt64 = 7
    return (0..<count).map { _ in
        [101] + (0..<(length - 2)).map { _ -> Int in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 1000 + Int(state >> 33) % 7000
        } + [102]
    }
}

/// Multiply–add FLOPs (×2) of one image through the vision tower's matrix products and convolutions, as cnclip
/// executes them: the last ViT block and the ResNet attention pool compute the class (mean) token alone, and 3×3
/// convolutions count the Winograd path's multiplications where `conv2d` takes it.
func imageFLOPs(_ model: CLIPModel) -> Double {
    let config = model.config
    switch model.visual {
    case let .transformer(tower):
        let width = Double(config.visionWidth), patch = Double(tower.patchSize)
        let tokens = Double(tower.positionalEmbedding.shape[0])
        let patches = 2 * (tokens - 1) * width * 3 * patch * patch
        let block = 2 * tokens * width * width * 12 + 4 * tokens * tokens * width
        let blocks = Double(tower.blocks.count)
        return patches + max(blocks - 1, 0) * block + (blocks > 0 ? classTokenBlockFLOPs(tokens: tokens, width: width,
                                                                                          hidden: 4 * width) : 0)
            + 2 * width * Double(config.embedDim)
    case let .resnet(tower):
        var total = 0.0
        var size = config.imageResolution
        func conv(_ layer: Conv2d, outputSize: Int) {
            let inputSize = outputSize * layer.stride, w = layer.weight.shape
            let multiplyAdds = (try? conv2dMultiplyAdds(inputShape: [1, w[1], inputSize, inputSize], weightShape: w,
                                                        stride: layer.stride, padding: layer.padding))
                ?? outputSize * outputSize * w[0] * w[1] * w[2] * w[3]
            total += 2 * Double(multiplyAdds)
        }
        size /= 2
        for layer in tower.stem { conv(layer.conv, outputSize: size) }
        size /= 2
        for stage in tower.stages {
            for block in stage {
                conv(block.conv1, outputSize: size)
                conv(block.conv2, outputSize: size)
                size /= block.stride
                conv(block.conv3, outputSize: size)
                if let downsample = block.downsample { conv(downsample.conv, outputSize: size) }
            }
        }
        let width = Double(config.visionWidth * 32), tokens = Double(size * size + 1)
        return total + 4 * tokens * width * width + 2 * width * width + 4 * tokens * width + 2 * width * Double(config.embedDim)
    }
}

/// FLOPs of one text of `length` tokens through BERT and the projection, the last layer for `[CLS]` alone.
func textFLOPs(_ config: ModelConfig, length: Int) -> Double {
    let hidden = Double(config.textHiddenSize), tokens = Double(length)
    let layer = 2 * tokens * hidden * hidden * 4 + 4 * tokens * tokens * hidden
        + 4 * tokens * hidden * Double(config.textIntermediateSize)
    let layers = Double(config.textNumHiddenLayers)
    let last = layers > 0 ? classTokenBlockFLOPs(tokens: tokens, width: hidden, hidden: Double(config.textIntermediateSize)) : 0
    return max(layers - 1, 0) * layer + last + 2 * hidden * Double(config.embedDim)
}

/// FLOPs of a last transformer block that computes the class token alone: keys and values for every token, the
/// query, its attention, the output projection and an MLP of `hidden` units for one token.
private func classTokenBlockFLOPs(tokens: Double, width: Double, hidden: Double) -> Double {
    4 * tokens * width * width + 4 * width * width + 4 * tokens * width + 4 * width * hidden
}

/// Peak resident set size of this process (Linux `getrusage`, KiB → MB).
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}

/// Which kernels ran: OpenBLAS's core type (and whether cnclip overrode OpenBLAS's own choice), oneDNN's ISA and
/// how the linear layers were placed.
func engineDescription(_ report: PrecisionReport?) -> String {
    var line = "OpenBLAS core: \(blasCoreName)"
    if let chosen = cnclip_openblas_core_overridden_from() {
        line += " (set from the CPU's features; OpenBLAS chose \(String(cString: chosen)))"
    }
    line += "; oneDNN ISA: \(DNNLInstructionSet.effective)"
    if let report { line += "; \(report)" }
    return line
}
