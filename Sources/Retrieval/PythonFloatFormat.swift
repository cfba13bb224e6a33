import Foundation

/// Python's `repr(float)` (also what `json.dumps` writes): the shortest digit string that reads back as the same
/// double, in plain notation when the decimal exponent is in [−4, 16) and as `d.ddde±XX` otherwise, with `.0`
/// on integral values; `inf`, `-inf`, `nan` (JSON: `Infinity`, `-Infinity`, `NaN`).
public func pythonRepr(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    let (negative, digits, pointPosition) = shortestDigits(value)
    var text = negative ? "-" : ""
    if pointPosition <= -4 || pointPosition > 16 {
        text.append(digits[digits.startIndex])
        if digits.count > 1 {
            text += "."
            text += digits.dropFirst()
        }
        let exponent = pointPosition - 1
        text += exponent < 0 ? "e-" : "e+"
        let magnitude = String(abs(exponent))
        text += magnitude.count < 2 ? "0" + magnitude : magnitude
    } else if pointPosition <= 0 {
        text += "0." + String(repeating: "0", count: -pointPosition) + digits
    } else if pointPosition >= digits.count {
        text += digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
    } else {
        let split = digits.index(digits.startIndex, offsetBy: pointPosition)
        text += digits[..<split] + "." + digits[split...]
    }
    return text
}

/// `repr` of a float32 value widened to double, as the reference writes features (`tensor.tolist()` then JSON).
public func pythonRepr(_ value: Float) -> String { pythonRepr(Double(value)) }

/// The shortest round-trip decimal digits of a finite double (no leading or trailing zeros; "0" for zero) and the
/// position of the decimal point: value = 0.d₁d₂… × 10^pointPosition. Swift's `description` prints the same
/// shortest digits (both pick the nearest to the exact value), only its layout differs from Python's.
private func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, pointPosition: Int) {
    let description = value.magnitude.description
    let parts = description.split(separator: "e", maxSplits: 1)
    let exponent = parts.count == 2 ? Int(parts[1]) ?? 0 : 0
    let mantissa = parts[0]
    let integerPart = mantissa.prefix { $0 != "." }
    let fractionPart = mantissa.dropFirst(integerPart.count + 1)
    var digits = Substring(integerPart + fractionPart)
    var pointPosition = integerPart.count + exponent
    while digits.first == "0" {
        digits = digits.dropFirst()
        pointPosition -= 1
    }
    while digits.last == "0" { digits = digits.dropLast() }
    if digits.isEmpty { return (value.sign == .minus, "0", 1) }
    return (value.sign == .minus, String(digits), pointPosition)
}

/// Python's `round(value, digits)` for a double: the decimal with `digits` places nearest to the exact binary value
/// (ties to even), read back as a double; what glibc's `%.Nf` computes too, so it is formatted and parsed here.
public func pythonRound(_ value: Double, digits: Int) -> Double {
    guard value.isFinite else { return value }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 350 + max(digits, 0)) { buffer in
        guard let base = buffer.baseAddress else { return value }
        _ = withVaList([max(digits, 0), value]) { vsnprintf(base, buffer.count, "%.*f", $0) }
        return strtod(base, nil)
    }
}
