import Tensor
import XCTest

/// `im2col` against a direct element-by-element definition on many small geometries (exact: it only copies).
final class Im2colGeometryTests: XCTestCase {
    func testEveryGeometryMatchesTheDefinition() throws {
        var state: UInt64 = 42
        for channels in [1, 2] {
            for (height, width) in [(1, 1), (1, 3), (2, 5), (5, 4), (7, 7)] {
                for kernel in [1, 2, 3] {
                    for stride in [1, 2, 3] {
                        for padding in [0, 1, 2] where height + 2 * padding >= kernel && width + 2 * padding >= kernel {
                            let values = (0..<(channels * height * width)).map { _ -> Float in
                                state = state &* 6_364_136_223_846_793_005 &+ 1
                                return Float(state >> 40)
                            }
                            let image = try Tensor(shape: [channels, height, width], data: values)
                            let columns = try im2col(image, kernelHeight: kernel, kernelWidth: kernel, stride: stride,
                                                     padding: padding).toArray()
                            let oh = (height + 2 * padding - kernel) / stride + 1
                            let ow = (width + 2 * padding - kernel) / stride + 1
                            var expected: [Float] = []
                            for c in 0..<channels {
                                for ki in 0..<kernel {
                                    for kj in 0..<kernel {
                                        for oy in 0..<oh {
                                            for ox in 0..<ow {
                                                let iy = oy * stride - padding + ki, ix = ox * stride - padding + kj
                                                let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                                                expected.append(inside ? values[(c * height + iy) * width + ix] : 0)
                                            }
                                        }
                                    }
                                }
                            }
                            XCTAssertEqual(columns, expected,
                                           "C\(channels) \(height)x\(width) k\(kernel) s\(stride) p\(padding)")
                        }
                    }
                }
            }
        }
    }
}
