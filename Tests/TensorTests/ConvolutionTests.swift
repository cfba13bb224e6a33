import Tensor
import TestSupport
import XCTest

/// conv2d (im2col + GEMM), avg-pool 2d and BatchNorm2d against PyTorch (1e-5 × magnitude) and finite differences.
final class ConvolutionTests: XCTestCase {
    func testConv2dAgainstPyTorchAndFiniteDifferences() throws {
        let f = try TensorFixture("conv2d")
        for (name, stride, padding) in [("k3s2p1", 2, 1), ("k1", 1, 0), ("patch", 4, 0)] {
            let x = try f.tensor("\(name)_x"), w = try f.tensor("\(name)_weight"), b = try f.tensor("\(name)_bias")
            let g = try f.tensor("\(name)_g")
            try f.assertClose(try conv2d(x, weight: w, bias: b, stride: stride, padding: padding), "\(name)_y")
            let grads = try conv2dBackward(g, input: x, weight: w, hasBias: true, stride: stride, padding: padding)
            try f.assertClose(grads.input, "\(name)_dx")
            try f.assertClose(grads.weight, "\(name)_dweight")
            try f.assertClose(grads.bias ?? Tensor(zeros: [0]), "\(name)_dbias")
            try assertMatchesFiniteDifferences(grads.input, at: x, upstream: g, "\(name) dx") {
                try conv2d($0, weight: w, bias: b, stride: stride, padding: padding)
            }
            try assertMatchesFiniteDifferences(grads.weight, at: w, upstream: g, "\(name) dweight") {
                try conv2d(x, weight: $0, bias: b, stride: stride, padding: padding)
            }
        }
        assertThrows(.shapeMismatch(op: "conv2d", lhs: [1, 3, 8, 8], rhs: [4, 2, 3, 3])) {
            _ = try conv2d(Tensor(zeros: [1, 3, 8, 8]), weight: Tensor(zeros: [4, 2, 3, 3]), bias: nil)
        }
    }

    func testIm2colAndCol2imAreAdjoint() throws {
        // <im2col(x), c> = <x, col2im(c)> for any x, c.
        let x = try Tensor(shape: [2, 5, 4], data: (0..<40).map { Float($0 % 7) - 3 })
        let columns = try im2col(x, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1)
        XCTAssertEqual(columns.shape, [12, 3 * 3])
        let c = try Tensor(shape: columns.shape, data: (0..<columns.count).map { Float($0 % 5) - 2 })
        let back = try col2im(c, imageShape: [2, 5, 4], kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1)
        let left = zip(columns.toArray(), c.toArray()).reduce(0) { $0 + $1.0 * $1.1 }
        let right = zip(x.toArray(), back.toArray()).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(left, right, accuracy: 1e-4)
    }

    func testAvgPoolAgainstPyTorch() throws {
        let f = try TensorFixture("avgpool")
        for (name, kernel, stride, padding) in [("k2", 2, 2, 0), ("k3s2p1", 3, 2, 1)] {
            let x = try f.tensor("\(name)_x"), g = try f.tensor("\(name)_g")
            try f.assertClose(try avgPool2d(x, kernelSize: kernel, stride: stride, padding: padding), "\(name)_y")
            let dx = try avgPool2dBackward(g, inputShape: x.shape, kernelSize: kernel, stride: stride, padding: padding)
            try f.assertClose(dx, "\(name)_dx")
            try assertMatchesFiniteDifferences(dx, at: x, upstream: g, "\(name) avgPool dx") {
                try avgPool2d($0, kernelSize: kernel, stride: stride, padding: padding)
            }
        }
    }

    func testBatchNormAgainstPyTorch() throws {
        let f = try TensorFixture("batchnorm")
        for (name, training) in [("train", true), ("eval", false)] {
            let x = try f.tensor("\(name)_x"), w = try f.tensor("\(name)_weight"), b = try f.tensor("\(name)_bias")
            let g = try f.tensor("\(name)_g")
            let runningMean = try f.tensor("\(name)_running_mean"), runningVar = try f.tensor("\(name)_running_var")
            let result = try batchNorm2d(x, weight: w, bias: b, runningMean: runningMean, runningVar: runningVar,
                                         training: training)
            try f.assertClose(result.output, "\(name)_y")
            try f.assertClose(runningMean, "\(name)_running_mean_after")
            try f.assertClose(runningVar, "\(name)_running_var_after")
            let grads = try batchNorm2dBackward(g, input: x, weight: w, mean: result.mean, invStd: result.invStd,
                                                training: training)
            try f.assertClose(grads.input, "\(name)_dx")
            try f.assertClose(grads.weight, "\(name)_dweight")
            try f.assertClose(grads.bias, "\(name)_dbias")
            let initialMean = try f.tensor("\(name)_running_mean"), initialVar = try f.tensor("\(name)_running_var")
            let forward: (Tensor, Tensor, Tensor) throws -> Tensor = { x, w, b in
                try batchNorm2d(x, weight: w, bias: b, runningMean: initialMean.copy(), runningVar: initialVar.copy(),
                                training: training).output
            }
            try assertMatchesFiniteDifferences(grads.input, at: x, upstream: g, "\(name) batchNorm dx") { try forward($0, w, b) }
            try assertMatchesFiniteDifferences(grads.weight, at: w, upstream: g, "\(name) batchNorm dweight") {
                try forward(x, $0, b)
            }
            try assertMatchesFiniteDifferences(grads.bias, at: b, upstream: g, "\(name) batchNorm dbias") { try forward(x, w, $0) }
        }
    }

    /// A batch of small outputs goes through one batched GEMM; it must equal convolving each image alone
    /// (the per-image path checked against PyTorch above), with bias and ReLU applied by hand. Tolerance 1e-5.
    func testBatchedConvolutionMatchesPerImageWithBiasAndReLU() throws {
        let (batch, channels, size, outChannels) = (3, 4, 5, 6)
        let x = try Tensor(shape: [batch, channels, size, size],
                           data: (0..<(batch * channels * size * size)).map { Float(($0 * 37) % 23) / 11 - 1 })
        for (kernel, stride, padding) in [(3, 1, 1), (1, 1, 0), (3, 2, 1)] {
            let w = try Tensor(shape: [outChannels, channels, kernel, kernel],
                               data: (0..<(outChannels * channels * kernel * kernel)).map { Float(($0 * 17) % 13) / 13 - 0.5 })
            let b = try Tensor(shape: [outChannels], data: (0..<outChannels).map { Float($0) / 4 - 0.6 })
            for applyingReLU in [false, true] {
                let batched = try conv2d(x, weight: w, bias: b, stride: stride, padding: padding, applyingReLU: applyingReLU)
                var expected: [Float] = []
                for n in 0..<batch {
                    let image = try Tensor(shape: [1, channels, size, size],
                                           data: Array(x.toArray()[(n * channels * size * size)..<((n + 1) * channels * size * size)]))
                    let single = try conv2d(image, weight: w, bias: b, stride: stride, padding: padding).toArray()
                    expected += applyingReLU ? single.map { max($0, 0) } : single
                }
                XCTAssertEqual(batched.shape[0], batch)
                XCTAssertLessThan(maxAbsDifference(batched.toArray(), expected), 1e-5,
                                  "kernel \(kernel) stride \(stride) relu \(applyingReLU)")
            }
        }
    }

    /// Outputs of more than 196 positions go one image at a time: whole images per thread for a batch, a split
    /// GEMM for one image. Both against the convolution's definition summed in Double; tolerance 1e-5.
    func testPerImageConvolutionMatchesTheDefinition() throws {
        let (channels, size, outChannels) = (3, 17, 5)
        for (batch, kernel, stride, padding) in [(3, 3, 1, 1), (1, 3, 1, 1), (3, 1, 1, 0), (2, 3, 1, 0)] {
            let xValues = (0..<(batch * channels * size * size)).map { Float(($0 * 37) % 23) / 11 - 1 }
            let wValues = (0..<(outChannels * channels * kernel * kernel)).map { Float(($0 * 17) % 13) / 13 - 0.5 }
            let bValues = (0..<outChannels).map { Float($0) / 4 - 0.6 }
            let x = try Tensor(shape: [batch, channels, size, size], data: xValues)
            let w = try Tensor(shape: [outChannels, channels, kernel, kernel], data: wValues)
            let b = try Tensor(shape: [outChannels], data: bValues)
            let outSize = (size + 2 * padding - kernel) / stride + 1
            XCTAssertGreaterThan(outSize * outSize, 196, "the case must take the per-image path")
            for applyingReLU in [false, true] {
                let y = try conv2d(x, weight: w, bias: b, stride: stride, padding: padding, applyingReLU: applyingReLU)
                let expected = convolutionDefinition(xValues, shape: x.shape, weight: wValues, outChannels: outChannels,
                                                     kernel: kernel, stride: stride, padding: padding, bias: bValues)
                    .map { Float(applyingReLU ? max($0, 0) : $0) }
                XCTAssertEqual(y.shape, [batch, outChannels, outSize, outSize])
                XCTAssertLessThan(maxAbsDifference(y.toArray(), expected), 1e-5,
                                  "batch \(batch) kernel \(kernel) relu \(applyingReLU)")
            }
        }
    }
}

private extension Tensor {
    func copy() throws -> Tensor { try Tensor(shape: shape, data: toArray()) }
}
