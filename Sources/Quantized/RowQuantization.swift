import Tensor

/// Dynamic activation quantisation, one scale and zero point per row (token): asymmetric u8,
/// q = clamp(round(x / s) + z, 0, qmax) with s = (max(x, 0) − min(x, 0)) / qmax and z = round(−min(x, 0) / s), so
/// 0 is exact and |x − s·(q − z)| ≤ s/2 inside the row's range. `qmax` is 255, or 127 where the CPU's int8 dot
/// products saturate above that (see `DNNLInstructionSet.hasExactInt8DotProducts`).
public enum RowQuantization {
    /// Quantises `rows` rows of `columns` floats into `values`, writing each row's scale and zero point.
    /// With `perTensor`, every row gets the scale and zero point of the whole tensor's range instead of its own.
    public static func quantize(_ source: UnsafePointer<Float>, rows: Int, columns: Int, maximum qmax: Int,
                                values: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>,
                                zeroPoints: UnsafeMutablePointer<Int32>, perTensor: Bool = false) {
        let pointers = RowPointers(source: source, values: values, scales: scales, zeroPoints: zeroPoints)
        let range: (Float, Float)? = perTensor ? tensorRange(source, count: rows * columns) : nil
        Parallel.forRanges(rows, grain: max(1, 32_768 / max(columns, 1))) { rowRange in
            for row in rowRange { pointers.quantize(row: row, columns: columns, qmax: Float(qmax), range: range) }
        }
    }

    /// min(x, 0) and max(x, 0) over `count` values.
    private static func tensorRange(_ source: UnsafePointer<Float>, count: Int) -> (Float, Float) {
        var low: Float = 0, high: Float = 0
        for index in 0..<count {
            low = min(low, source[index])
            high = max(high, source[index])
        }
        return (low, high)
    }
}

/// How many scales the activations of an int8 Linear get (see `docs`: per token is the default, by measurement).
public enum ActivationScaling: String, CaseIterable, Sendable {
    /// One scale and zero point per row (token).
    case perToken = "per-token"
    /// One scale and zero point for the whole input of a call.
    case perTensor = "per-tensor"
}

private struct RowPointers: @unchecked Sendable {
    let source: UnsafePointer<Float>
    let values: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>
    let zeroPoints: UnsafeMutablePointer<Int32>

    func quantize(row: Int, columns: Int, qmax: Float, range: (Float, Float)?) {
        let x = source + row * columns, q = values + row * columns
        var low: Float = 0, high: Float = 0
        if let range {
            (low, high) = range
        } else {
            for column in 0..<columns {
                low = min(low, x[column])
                high = max(high, x[column])
            }
        }
        let range = high - low
        let scale = range > 0 && range.isFinite ? range / qmax : 1
        let zero = (-low / scale).rounded(.toNearestOrEven)
        scales[row] = scale
        zeroPoints[row] = Int32(zero)
        // Clamped to [-zero, qmax - zero] first, then rounded to nearest even by adding and subtracting 1.5·2²³
        // (exact for |v| < 2²²), which vectorises where `rounded()` calls libm per element.
        let inverse = 1 / scale, lowest = -zero, highest = qmax - zero
        let magic: Float = 12_582_912
        for column in 0..<columns {
            let clamped = max(lowest, min(highest, x[column] * inverse))
            let rounded = (clamped + magic) - magic
            q[column] = UInt8(truncatingIfNeeded: Int32(truncatingIfNeeded: Int(rounded + zero)))
        }
    }
}
