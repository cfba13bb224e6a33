import Tensor

/// A Linear weight `[out, in]` quantised symmetrically per output channel: q = round(w / s) in [-127, 127] with
/// s = max|w_row| / 127 (s = 1 for an all-zero row), so w ≈ s·q with |w − s·q| ≤ s/2.
public struct Int8Weights: Sendable {
    /// Output channels (rows) and input features (columns).
    public let rows: Int, columns: Int
    /// q, `rows × columns` row-major.
    public let values: [Int8]
    /// s, one per row.
    public let scales: [Float]
    /// Σ_k q[row, k], for the activations' zero-point correction.
    let rowSums: [Int32]

    /// Quantises a rank-2 fp32 weight.
    /// - Throws: `QuantizationError.invalidWeight` for other ranks or non-finite values.
    public init(quantizing weight: Tensor) throws {
        guard weight.rank == 2 else {
            throw QuantizationError.invalidWeight(name: "weight", reason: "rank \(weight.rank), expected 2 ([out, in])")
        }
        let rows = weight.shape[0], columns = weight.shape[1]
        let source = weight.toArray()
        guard source.allSatisfy(\.isFinite) else {
            throw QuantizationError.invalidWeight(name: "weight", reason: "holds a non-finite value")
        }
        var values = [Int8](repeating: 0, count: rows * columns)
        var scales = [Float](repeating: 1, count: rows)
        for row in 0..<rows {
            let base = row * columns
            var largest: Float = 0
            for column in 0..<columns { largest = max(largest, abs(source[base + column])) }
            let scale = largest > 0 ? largest / 127 : 1
            scales[row] = scale
            for column in 0..<columns {
                values[base + column] = Int8(max(-127, min(127, (source[base + column] / scale).rounded(.toNearestOrEven))))
            }
        }
        try self.init(values: values, scales: scales, rows: rows, columns: columns)
    }

    /// Wraps already quantised values (a quantised checkpoint).
    /// - Throws: `QuantizationError.invalidWeight` when the counts do not match, a value is −128, or a scale is not
    ///   finite and positive.
    public init(values: [Int8], scales: [Float], rows: Int, columns: Int, name: String = "weight") throws {
        guard values.count == rows * columns else {
            throw QuantizationError.invalidWeight(name: name, reason: "\(values.count) values for [\(rows), \(columns)]")
        }
        guard scales.count == rows else {
            throw QuantizationError.invalidWeight(name: name, reason: "\(scales.count) scales for \(rows) output channels")
        }
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw QuantizationError.invalidWeight(name: name, reason: "a scale is not finite and positive")
        }
        guard !values.contains(-128) else {
            throw QuantizationError.invalidWeight(name: name, reason: "holds -128 (symmetric weights use [-127, 127])")
        }
        self.rows = rows; self.columns = columns; self.values = values; self.scales = scales
        rowSums = (0..<rows).map { row in
            values[(row * columns)..<((row + 1) * columns)].reduce(Int32(0)) { $0 + Int32($1) }
        }
    }

    /// s·q as an fp32 tensor `[rows, columns]`.
    public func dequantized() -> Tensor {
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<rows {
            for column in 0..<columns { result[row * columns + column] = scales[row] * Float(values[row * columns + column]) }
        }
        return try! Tensor(shape: [rows, columns], data: result) // the count matches by construction
    }
}

/// Why weights could not be quantised or a quantised layer could not be built.
public enum QuantizationError: Error, CustomStringConvertible, Equatable {
    case invalidWeight(name: String, reason: String)
    case unsupported(precision: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidWeight(name, reason): return "cannot quantise \(name): \(reason)"
        case let .unsupported(precision, reason): return "--precision \(precision) is not available on this CPU: \(reason)"
        }
    }
}
