import Tensor
import TestSupport
import XCTest

/// 3×3 stride-1 convolutions with ≥ 16 channels each side run as Winograd F(2×2, 3×3): against the
/// convolution's definition summed in Double, odd and even sizes, paddings 0–2, bias and ReLU, and a batch
/// large enough to be processed in two chunks.
final class WinogradConvolutionTests: XCTestCase {
    private func check(batch: Int, channels: Int, outChannels: Int, height: Int, width: Int, padding: Int) throws {
        let xValues = (0..<(batch * channels * height * width)).map { Float(($0 * 37) % 23) / 11 - 1 }
        let wValues = (0..<(outChannels * channels * 9)).map { Float(($0 * 17) % 13) / 13 - 0.5 }
        let bValues = (0..<outChannels).map { Float($0 % 7) / 4 - 0.6 }
        let x = try Tensor(shape: [batch, channels, height, width], data: xValues)
        let w = try Tensor(shape: [outChannels, channels, 3, 3], data: wValues)
        let b = try Tensor(shape: [outChannels], data: bValues)
        let (outHeight, outWidth) = (height + 2 * padding - 2, width + 2 * padding - 2)
        let multiplyAdds = try conv2dMultiplyAdds(inputShape: x.shape, weightShape: w.shape, stride: 1, padding: padding)
        XCTAssertLessThan(multiplyAdds, batch * outChannels * channels * 9 * outHeight * outWidth,
                          "the case must take the Winograd path")
        let expected = convolutionDefinition(xValues, shape: x.shape, weight: wValues, outChannels: outChannels, kernel: 3,
                                             stride: 1, padding: padding, bias: bValues)
        let scale = Float(expected.map { abs($0) }.max() ?? 1)
        for applyingReLU in [false, true] {
            let y = try conv2d(x, weight: w, bias: b, stride: 1, padding: padding, applyingReLU: applyingReLU)
            XCTAssertEqual(y.shape, [batch, outChannels, outHeight, outWidth])
            let reference = expected.map { Float(applyingReLU ? max($0, 0) : $0) }
            XCTAssertLessThanOrEqual(maxAbsDifference(y.toArray(), reference), 2e-6 * max(scale, 1),
                                     "\(batch)x\(channels)x\(height)x\(width) → \(outChannels), padding \(padding), relu \(applyingReLU)")
        }
    }

    func testOddAndEvenSizesAndPaddings() throws {
        try check(batch: 2, channels: 17, outChannels: 18, height: 7, width: 7, padding: 1)
        try check(batch: 3, channels: 16, outChannels: 20, height: 6, width: 9, padding: 1)
        try check(batch: 1, channels: 19, outChannels: 16, height: 8, width: 5, padding: 0)
        try check(batch: 2, channels: 16, outChannels: 17, height: 5, width: 4, padding: 2)
    }

    func testBatchSplitIntoChunks() throws {
        // 16·32·(32·32 tiles) = 524,288 transformed floats per image: the 2M-float chunks take 4 images, so 5 run in two.
        try check(batch: 5, channels: 32, outChannels: 32, height: 64, width: 64, padding: 1)
    }

    func testNarrowChannelsAndStridesKeepTheDirectPath() throws {
        for (channels, outChannels, stride) in [(15, 32, 1), (32, 8, 1), (32, 32, 2)] {
            let direct = (56 / stride) * (56 / stride) * outChannels * channels * 9
            XCTAssertEqual(try conv2dMultiplyAdds(inputShape: [1, channels, 56, 56], weightShape: [outChannels, channels, 3, 3],
                                                  stride: stride, padding: 1), direct)
        }
    }
}
