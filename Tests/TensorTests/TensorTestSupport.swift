import Tensor
import TestSupport
import XCTest

/// A tensor fixture file of `Tests/Fixtures/tensor/`, read once per test.
struct TensorFixture {
    let file: String
    let tensors: [String: FixtureTensor]

    init(_ name: String) throws {
        file = "tensor/\(name).json"
        tensors = try Fixtures.tensors(file)
    }

    /// The named tensor as a `Tensor`.
    func tensor(_ name: String) throws -> Tensor {
        guard let entry = tensors[name] else { throw FixtureError.malformed(file, "no tensor \(name)") }
        return try Tensor(shape: entry.shape, data: entry.floats)
    }

    /// The named tensor's values as integers (ids, labels, indices).
    func ints(_ name: String) throws -> [Int] {
        guard let entry = tensors[name] else { throw FixtureError.malformed(file, "no tensor \(name)") }
        return entry.ints
    }

    /// Asserts `actual` has the fixture's shape and max |actual − expected| ≤ tolerance·max(1, max |expected|).
    func assertClose(_ actual: Tensor, _ name: String, tolerance: Float = 1e-5,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try tensor(name)
        XCTAssertEqual(actual.shape, expected.shape, "\(name): shape", file: file, line: line)
        assertValuesClose(actual.toArray(), expected.toArray(), tolerance: tolerance, name, file: file, line: line)
    }
}

/// Asserts max |a − b| ≤ tolerance·max(1, max |b|).
func assertValuesClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ name: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    let magnitude = max(1, expected.map { $0.isFinite ? abs($0) : 0 }.max() ?? 0)
    let difference = maxAbsDifference(actual, expected)
    XCTAssertLessThanOrEqual(difference, tolerance * magnitude, "\(name): max abs diff \(difference)", file: file, line: line)
}

/// Central finite differences of L(x) = Σ forward(x)·upstream, accumulated in Double.
func finiteDifferenceGradient(at input: Tensor, upstream: Tensor, step: Float = 1e-3,
                              _ forward: (Tensor) throws -> Tensor) throws -> [Float] {
    let values = input.toArray()
    let weights = upstream.toArray().map(Double.init)
    func loss(_ data: [Float]) throws -> Double {
        let output = try forward(Tensor(shape: input.shape, data: data)).toArray()
        return zip(output, weights).reduce(0) { $0 + Double($1.0) * $1.1 }
    }
    var gradient = [Float](repeating: 0, count: values.count)
    for index in values.indices {
        var plus = values, minus = values
        plus[index] += step
        minus[index] -= step
        let width = Double(plus[index]) - Double(minus[index])
        gradient[index] = Float((try loss(plus) - loss(minus)) / width)
    }
    return gradient
}

/// Asserts an analytic gradient matches finite differences within `relativeTolerance`·max(1, max |gradient|).
func assertMatchesFiniteDifferences(_ analytic: Tensor, at input: Tensor, upstream: Tensor, step: Float = 1e-3,
                                    relativeTolerance: Float = 1e-2, _ name: String,
                                    file: StaticString = #filePath, line: UInt = #line,
                                    _ forward: (Tensor) throws -> Tensor) throws {
    let numeric = try finiteDifferenceGradient(at: input, upstream: upstream, step: step, forward)
    XCTAssertEqual(analytic.shape, input.shape, "\(name): gradient shape", file: file, line: line)
    assertValuesClose(analytic.toArray(), numeric, tolerance: relativeTolerance, "\(name) vs finite differences",
                      file: file, line: line)
}

/// Asserts `body` throws exactly `expected`.
func assertThrows(_ expected: TensorError, file: StaticString = #filePath, line: UInt = #line,
                  _ body: () throws -> Void) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        XCTAssertEqual(error as? TensorError, expected, file: file, line: line)
    }
}

/// The convolution's definition summed in Double: x [N, C, H, W] (row-major values), weight [O, C, k, k], bias [O];
/// returns [N, O, Ho, Wo] before any activation.
func convolutionDefinition(_ x: [Float], shape: [Int], weight: [Float], outChannels: Int, kernel: Int, stride: Int,
                           padding: Int, bias: [Float]) -> [Double] {
    let (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
    let outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1
    var result: [Double] = []
    result.reserveCapacity(batch * outChannels * outHeight * outWidth)
    for n in 0..<batch {
        for o in 0..<outChannels {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var sum = Double(bias[o])
                    for c in 0..<channels {
                        for ky in 0..<kernel {
                            let iy = oy * stride - padding + ky
                            guard iy >= 0, iy < height else { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - padding + kx
                                guard ix >= 0, ix < width else { continue }
                                sum += Double(x[((n * channels + c) * height + iy) * width + ix])
                                    * Double(weight[((o * channels + c) * kernel + ky) * kernel + kx])
                            }
                        }
                    }
                    result.append(sum)
                }
            }
        }
    }
    return result
}
