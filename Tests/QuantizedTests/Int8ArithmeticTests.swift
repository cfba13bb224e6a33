import Layers
import Quantized
import Tensor
import XCTest

/// Uniform values in [-1, 1) from a 64-bit LCG, so the tests do not depend on the platform's generator.
func lcgValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

/// The int8 building blocks against exact integer and Double arithmetic.
final class Int8ArithmeticTests: XCTestCase {
    /// oneDNN's u8·s8 → s32 product equals the exact integer sums, with operands at the extremes of their ranges
    /// (where CPUs without VNNI would saturate if the activation range were not limited to 127 there).
    func testIntegerProductEqualsExactIntegerArithmetic() throws {
        // 61 rows run on oneDNN; 1, 2, 5 and 37 rows on the few-row kernel where the CPU has AVX2 (k and n not
        // multiples of its 32-byte vectors and 4-column blocks).
        for m in [61, 37, 5, 2, 1] { try checkIntegerProduct(m: m, k: 515, n: 70) }
        XCTAssertFalse(try Int8Linear(weights: Int8Weights(values: [1], scales: [1], rows: 1, columns: 1), bias: nil)
            .usesFewRowKernel(rows: 61))
    }

    private func checkIntegerProduct(m: Int, k: Int, n: Int) throws {
        var state: UInt64 = 99
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        let weightValues = (0..<(n * k)).map { index -> Int8 in
            index % 5 == 0 ? 127 : index % 7 == 0 ? -127 : Int8(next() % 255 - 127)
        }
        let weights = try Int8Weights(values: weightValues, scales: [Float](repeating: 0.01, count: n), rows: n, columns: k)
        let layer = try Int8Linear(weights: weights, bias: nil)
        let top = layer.activationMaximum
        let codes = (0..<(m * k)).map { index -> UInt8 in UInt8(index % 3 == 0 ? top : next() % (top + 1)) }
        let sums = try layer.integerProduct(codes, rows: m)
        for row in 0..<m {
            for column in 0..<n {
                var exact = 0
                for index in 0..<k { exact += Int(codes[row * k + index]) * Int(weightValues[column * k + index]) }
                XCTAssertEqual(Int(sums[row * n + column]), exact, "\(m) rows: row \(row) column \(column)")
                if Int(sums[row * n + column]) != exact { return }
            }
        }
    }

    /// Per-row activation codes stay in [0, qmax], represent 0 exactly, and reconstruct within half a step.
    func testRowQuantizationBounds() {
        let columns = 64
        var rows: [[Float]] = [
            [Float](repeating: 0, count: columns),                  // all zero
            lcgValues(columns, seed: 1).map { abs($0) + 0.5 },      // all positive
            lcgValues(columns, seed: 2).map { -abs($0) - 0.5 },     // all negative
            lcgValues(columns, seed: 3),
        ]
        var outlier = lcgValues(columns, seed: 4)
        outlier[5] = 40 // one channel 40x the others, as BERT's hidden states have
        rows.append(outlier)
        let source = rows.flatMap { $0 }
        for qmax in [127, 255] {
            var codes = [UInt8](repeating: 0, count: source.count)
            var scales = [Float](repeating: 0, count: rows.count)
            var zeros = [Int32](repeating: 0, count: rows.count)
            RowQuantization.quantize(source, rows: rows.count, columns: columns, maximum: qmax, values: &codes,
                                     scales: &scales, zeroPoints: &zeros)
            for row in 0..<rows.count {
                XCTAssertGreaterThan(scales[row], 0)
                XCTAssertTrue((0...Int32(qmax)).contains(zeros[row]), "zero point of row \(row)")
                for column in 0..<columns {
                    let code = Int(codes[row * columns + column])
                    XCTAssertLessThanOrEqual(code, qmax)
                    let x = source[row * columns + column]
                    let restored = scales[row] * Float(code - Int(zeros[row]))
                    XCTAssertLessThanOrEqual(abs(restored - x), scales[row] * 0.5001 + 1e-7, "row \(row) column \(column)")
                    if x == 0 { XCTAssertEqual(restored, 0) }
                }
            }
        }
    }

    /// Weight codes are symmetric in [-127, 127], each row's largest magnitude maps to ±127, and every weight is
    /// within half a step of its code.
    func testWeightQuantizationBounds() throws {
        let rows = 9, columns = 33
        var values = lcgValues(rows * columns, seed: 5)
        for column in 0..<columns { values[2 * columns + column] = 0 } // an all-zero row keeps scale 1
        values[4 * columns + 3] = -25
        let weight = try Tensor(shape: [rows, columns], data: values)
        let quantized = try Int8Weights(quantizing: weight)
        XCTAssertEqual(quantized.scales[2], 1)
        for row in 0..<rows {
            let codes = quantized.values[(row * columns)..<((row + 1) * columns)]
            XCTAssertFalse(codes.contains(-128))
            if row != 2 { XCTAssertEqual(codes.map { abs(Int($0)) }.max(), 127, "row \(row)") }
            for column in 0..<columns {
                let restored = quantized.scales[row] * Float(quantized.values[row * columns + column])
                XCTAssertLessThanOrEqual(abs(restored - values[row * columns + column]), quantized.scales[row] * 0.5001)
            }
        }
        XCTAssertEqual(quantized.values[4 * columns + 3], -127)
    }

    /// Malformed quantised weights are refused with the reason.
    func testMalformedWeightsAreRefusedByName() {
        XCTAssertThrowsError(try Int8Weights(values: [1, 2, 3, 4], scales: [1], rows: 2, columns: 2, name: "fc.weight")) {
            XCTAssertEqual($0 as? QuantizationError,
                           .invalidWeight(name: "fc.weight", reason: "1 scales for 2 output channels"))
        }
        XCTAssertThrowsError(try Int8Weights(values: [1, -128], scales: [1], rows: 1, columns: 2, name: "w")) {
            XCTAssertEqual($0 as? QuantizationError,
                           .invalidWeight(name: "w", reason: "holds -128 (symmetric weights use [-127, 127])"))
        }
        XCTAssertThrowsError(try Int8Weights(values: [1, 2], scales: [0], rows: 1, columns: 2, name: "w"))
        XCTAssertThrowsError(try Int8Weights(quantizing: Tensor(zeros: [2, 2, 2])))
    }

    /// An int8 Linear against a Double model of the same arithmetic: activations quantised per row in Double,
    /// integer sums, rescaled with the weight scales, plus the bias.
    func testInt8LinearMatchesDoubleModelOfTheQuantisedArithmetic() throws {
        for scaling in ActivationScaling.allCases { try checkAgainstDoubleModel(scaling) }
    }

    /// Per token, each row's own range sets its scale; per tensor, the whole input's range sets one scale.
    private func checkAgainstDoubleModel(_ scaling: ActivationScaling) throws {
        let m = 13, k = 96, n = 40
        let weight = try Tensor(shape: [n, k], data: lcgValues(n * k, seed: 6).map { $0 * 0.2 })
        let bias = try Tensor(shape: [n], data: lcgValues(n, seed: 7))
        var inputs = lcgValues(m * k, seed: 8).map { $0 * 3 }
        inputs[17] = 30 // an outlier
        let x = try Tensor(shape: [m, k], data: inputs)
        let layer = try Int8Linear(Linear(weight: weight, bias: bias), activationScaling: scaling)
        func range(_ row: Int) -> (low: Float, high: Float) {
            let values = scaling == .perTensor ? inputs[...] : inputs[(row * k)..<((row + 1) * k)]
            return (min(values.min()!, 0), max(values.max()!, 0))
        }
        let y = try layer(x).toArray()
        let quantized = layer.weights, qmax = Double(layer.activationMaximum)
        var worst = 0.0
        for row in 0..<m {
            let values = inputs[(row * k)..<((row + 1) * k)].map(Double.init)
            let (low, high) = (Double(range(row).low), Double(range(row).high))
            let scale = Double(Float(high - low) / Float(qmax)), zero = (-low / scale).rounded(.toNearestOrEven)
            let codes = values.map { max(0, min(qmax, ($0 / scale).rounded(.toNearestOrEven) + zero)) }
            for column in 0..<n {
                var sum = 0.0
                for index in 0..<k { sum += (codes[index] - zero) * Double(quantized.values[column * k + index]) }
                let expected = sum * scale * Double(quantized.scales[column]) + Double(bias.toArray()[column])
                worst = max(worst, abs(expected - Double(y[row * n + column])) / max(1, abs(expected)))
            }
        }
        // Double vs fp32 arithmetic on the same codes; a code may differ by one step where x/s lies on a tie.
        XCTAssertLessThan(worst, 2e-3, "\(scaling)")
        // And the quantised layer stays within the worst case of its rounding: per product term
        // |x·Δw| + |w·Δx| + |Δx·Δw| with |Δw| ≤ s_w/2 and |Δx| ≤ s_x/2.
        let exact = try linear(x, weight: weight, bias: bias).toArray()
        let weightValues = weight.toArray()
        var error: Float = 0
        for row in 0..<m {
            let stepX = (range(row).high - range(row).low) / Float(layer.activationMaximum)
            for column in 0..<n {
                let stepW = quantized.scales[column]
                var bound: Float = 0
                for index in 0..<k {
                    bound += abs(inputs[row * k + index]) * stepW / 2 + abs(weightValues[column * k + index]) * stepX / 2
                        + stepX * stepW / 4
                }
                let difference = abs(exact[row * n + column] - y[row * n + column])
                XCTAssertLessThanOrEqual(difference, bound * 1.01 + 1e-5, "row \(row) column \(column)")
                error = max(error, difference)
            }
        }
        XCTAssertGreaterThan(error, 0) // int8 really ran
    }
}
