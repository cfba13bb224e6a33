import Tensor
import XCTest

/// Products large enough to be split across threads (by rows or by columns, with every transpose combination)
/// against a double-precision sum; tolerance 1e-5 × max(1, |value|) of a k-term fp32 dot product.
final class SplitGemmTests: XCTestCase {
    func testSplitProductsMatchDoublePrecision() throws {
        // (m, k, n): rows ≥ columns splits rows; columns > rows splits columns; the last stays on one thread.
        for (m, k, n) in [(301, 70, 200), (100, 90, 513), (129, 40, 3)] {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                let aValues = (0..<(m * k)).map { Float(($0 * 7919) % 201) / 100 - 1 }
                let bValues = (0..<(k * n)).map { Float(($0 * 104_729) % 173) / 86 - 1 }
                let a = try Tensor(shape: transposeA ? [k, m] : [m, k], data: aValues)
                let b = try Tensor(shape: transposeB ? [n, k] : [k, n], data: bValues)
                let product = try matmul(a, b, transposeA: transposeA, transposeB: transposeB).toArray()
                var worst: Double = 0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Double = 0
                        for p in 0..<k {
                            let left = transposeA ? aValues[p * m + i] : aValues[i * k + p]
                            let right = transposeB ? bValues[j * k + p] : bValues[p * n + j]
                            sum += Double(left) * Double(right)
                        }
                        worst = max(worst, abs(Double(product[i * n + j]) - sum) / max(1, abs(sum)))
                    }
                }
                XCTAssertLessThan(worst, 1e-5, "\(m)x\(k)x\(n) transposeA \(transposeA) transposeB \(transposeB)")
            }
        }
    }
}
