import Foundation
import Tensor
import XCTest

/// The vector transcendental functions against Double-precision libm, in ulps of the fp32 result.
final class VectorMathTests: XCTestCase {
    private func maxUlpError(_ range: ClosedRange<Float>, samples: Int = 50_001, _ approximate: (Float) -> Float,
                             _ exact: (Double) -> Double) -> Float {
        var worst: Float = 0
        for i in 0..<samples {
            let x = range.lowerBound + (range.upperBound - range.lowerBound) * Float(i) / Float(samples - 1)
            let reference = exact(Double(x))
            let rounded = Float(reference)
            guard rounded.isFinite, rounded != 0 else { continue }
            let error = Float(abs(Double(approximate(x)) - reference)) / rounded.magnitude.ulp
            worst = max(worst, error)
        }
        return worst
    }

    /// Tolerance: 2 ulp (exp), 3 ulp (tanh, erf, sigmoid).
    func testAgainstDoublePrecision() {
        XCTAssertLessThanOrEqual(maxUlpError(-87...88, VectorMath.exp, Foundation.exp), 2)
        XCTAssertLessThanOrEqual(maxUlpError(-9...9, VectorMath.tanh, Foundation.tanh), 3)
        XCTAssertLessThanOrEqual(maxUlpError(-1e-3...1e-3, VectorMath.tanh, Foundation.tanh), 3)
        XCTAssertLessThanOrEqual(maxUlpError(-5...5, VectorMath.erf, Foundation.erf), 3)
        XCTAssertLessThanOrEqual(maxUlpError(-1e-3...1e-3, VectorMath.erf, Foundation.erf), 3)
        XCTAssertLessThanOrEqual(maxUlpError(-30...30, VectorMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }), 3)
    }

    /// Φ (used by GELU) to 3e-7 absolute, and GELU x·Φ(x) to 3e-7·max(1, |x|), against Double erfc.
    func testNormalCDFAndGELUAgainstDoublePrecision() {
        var worstCDF = 0.0, worstGELU = 0.0
        for i in 0...200_000 {
            let x = Float(-12 + 24 * Double(i) / 200_000)
            let exact = 0.5 * Foundation.erfc(-Double(x) / 2.0.squareRoot())
            let phi = VectorMath.normalCDF(x)
            worstCDF = max(worstCDF, abs(Double(phi) - exact))
            worstGELU = max(worstGELU, abs(Double(x * phi) - Double(x) * exact) / max(1, abs(Double(x))))
        }
        XCTAssertLessThanOrEqual(worstCDF, 3e-7)
        XCTAssertLessThanOrEqual(worstGELU, 3e-7)
        XCTAssertEqual(VectorMath.normalCDF(-.infinity), 0)
        XCTAssertEqual(VectorMath.normalCDF(.infinity), 1)
    }

    func testSpecialValues() {
        XCTAssertEqual(VectorMath.exp(-.infinity), 0)
        XCTAssertEqual(VectorMath.exp(100), .infinity)
        XCTAssertEqual(VectorMath.exp(0), 1)
        XCTAssertEqual(VectorMath.tanh(50), 1)
        XCTAssertEqual(VectorMath.tanh(-50), -1)
        XCTAssertEqual(VectorMath.erf(10), 1)
        XCTAssertEqual(VectorMath.erf(-10), -1)
        XCTAssertEqual(VectorMath.sigmoid(-200), 0)
        XCTAssertTrue(VectorMath.exp(.nan).isNaN)
    }
}
