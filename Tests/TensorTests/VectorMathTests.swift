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
