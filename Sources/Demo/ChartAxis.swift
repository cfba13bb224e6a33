import Foundation

/// A linear axis with "nice" bounds and ticks (steps of 1, 2 or 5 × 10ᵏ) covering a data range, and tick labels
/// with just enough decimals for the step.
struct ChartAxis {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    private let tickStep: Double

    /// About `count` ticks covering `low...high`; a degenerate range is widened around its value.
    init(low: Double, high: Double, count: Int = 5) {
        var (low, high) = (low, high)
        if !(high > low) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let rough = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let (first, last) = (floor(low / step) * step, ceil(high / step) * step)
        let n = Int(((last - first) / step).rounded())
        (lower, upper, tickStep) = (first, last, step)
        ticks = (0...n).map { first + Double($0) * step }
    }

    /// The fraction 0…1 of the way from `lower` to `upper`.
    func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }

    /// A tick's label: integers as such, small steps in scientific notation, others with the step's decimals.
    func label(_ value: Double) -> String {
        if abs(value) < tickStep * 1e-6 { return "0" }
        if tickStep >= 1 { return String(format: "%.0f", value) }
        let decimals = Int(-floor(log10(tickStep) + 1e-9))
        return decimals > 3 ? String(format: "%.1e", value) : String(format: "%.\(decimals)f", value)
    }
}
