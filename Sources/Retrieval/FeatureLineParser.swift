#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast path for the feature lines `extract_features.py` writes, `{"image_id": 25, "feature": [0.1, -2e-05]}`:
/// JSON whitespace anywhere, the two keys in either order, numbers in JSON syntax. Any other shape (escapes,
/// extra or repeated keys, `NaN`, very long integers, stray Python whitespace) is left to the general parser, which
/// gives the exact result or the error message, so the fast path never changes what a line means.
enum FeatureLineParser {
    /// Parses `line`; appends the feature values (each number read as a double, then rounded to float32 as
    /// `torch.tensor(..., dtype=float32)` does) to `features` and returns the id, or nil to defer to the general parser.
    static func parse(_ line: UnsafeBufferPointer<UInt8>, idKey: [UInt8], features: inout [Float]) -> Int64? {
        var scanner = Scanner(bytes: line)
        let start = features.count
        guard let id = scanner.parseObject(idKey: idKey, features: &features) else {
            features.removeSubrange(start...)
            return nil
        }
        return id
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard current == byte else { return false }
            position += 1
            return true
        }

        /// A key without escapes, compared with `expected`.
        mutating func key(matching expected: [UInt8]) -> Bool {
            guard expect(UInt8(ascii: "\"")) else { return false }
            for byte in expected {
                guard current == byte else { return false }
                position += 1
            }
            guard current == UInt8(ascii: "\"") else { return false }
            position += 1
            return expect(UInt8(ascii: ":"))
        }

        mutating func parseObject(idKey: [UInt8], features: inout [Float]) -> Int64? {
            guard expect(UInt8(ascii: "{")) else { return nil }
            var id: Int64?
            var sawFeature = false
            for member in 0..<2 {
                if member == 1, !expect(UInt8(ascii: ",")) { return nil }
                skipWhitespace()
                let save = position
                if id == nil, key(matching: idKey) {
                    skipWhitespace()
                    guard let value = integer() else { return nil }
                    id = value
                } else {
                    position = save
                    guard !sawFeature, key(matching: Self.featureKey), list(into: &features) else { return nil }
                    sawFeature = true
                }
            }
            guard expect(UInt8(ascii: "}")) else { return nil }
            skipWhitespace()
            return position == bytes.count ? id : nil
        }

        static let featureKey = Array("feature".utf8)

        /// A JSON integer of at most 18 digits.
        mutating func integer() -> Int64? {
            let begin = position
            var negative = false
            if current == UInt8(ascii: "-") { negative = true; position += 1 }
            let digitsStart = position
            var value: Int64 = 0
            while let byte = current, byte >= 0x30, byte <= 0x39 {
                value = value &* 10 &+ Int64(byte - 0x30)
                position += 1
            }
            let digits = position - digitsStart
            guard digits > 0, digits <= 18, !(digits > 1 && bytes[digitsStart] == 0x30) else { return nil }
            if let byte = current, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                position = begin
                return nil
            }
            return negative ? -value : value
        }

        mutating func list(into features: inout [Float]) -> Bool {
            guard expect(UInt8(ascii: "[")) else { return false }
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return true }
            while true {
                skipWhitespace()
                guard let value = number() else { return false }
                features.append(Float(value))
                skipWhitespace()
                guard let byte = current else { return false }
                position += 1
                if byte == UInt8(ascii: "]") { return true }
                if byte != UInt8(ascii: ",") { return false }
            }
        }

        /// A number in JSON syntax, as the double Python's `json` makes of it (integers of up to 15 digits only:
        /// longer ones are Python ints whose float32 rounding the general parser handles).
        mutating func number() -> Double? {
            let begin = position
            if current == UInt8(ascii: "-") { position += 1 }
            let integerStart = position
            while let byte = current, byte >= 0x30, byte <= 0x39 { position += 1 }
            let integerDigits = position - integerStart
            guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == 0x30) else { return nil }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                let fractionStart = position
                while let byte = current, byte >= 0x30, byte <= 0x39 { position += 1 }
                guard position > fractionStart else { return nil }
            }
            if let byte = current, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if let sign = current, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
                let exponentStart = position
                while let byte = current, byte >= 0x30, byte <= 0x39 { position += 1 }
                guard position > exponentStart else { return nil }
            }
            if isInteger && integerDigits > 15 { return nil }
            return Self.decimal(UnsafeBufferPointer(rebasing: bytes[begin..<position]))
        }

        /// Correctly rounded decimal → double: Clinger's exact fast path when the digits fit 2⁵³ and the power of
        /// ten is exact, else `strtod` (correctly rounded in glibc) on a NUL-terminated copy.
        static func decimal(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
            var mantissa: UInt64 = 0
            var digits = 0
            var exponent = 0
            var index = 0
            var negative = false
            if text.first == UInt8(ascii: "-") { negative = true; index = 1 }
            var afterPoint = false
            var simple = true
            while index < text.count {
                let byte = text[index]
                if byte == UInt8(ascii: ".") {
                    afterPoint = true
                } else if byte >= 0x30 && byte <= 0x39 {
                    if mantissa == 0 && byte == 0x30 {
                        if afterPoint { exponent -= 1 }
                    } else {
                        digits += 1
                        if digits > 19 { simple = false; break }
                        mantissa = mantissa * 10 + UInt64(byte - 0x30)
                        if afterPoint { exponent -= 1 }
                    }
                } else {
                    simple = false  // an exponent: leave it to strtod
                    break
                }
                index += 1
            }
            if simple, mantissa < 1 << 53, exponent >= -22 {
                let value = exponent == 0 ? Double(mantissa) : Double(mantissa) / powersOfTen[-exponent]
                return negative ? -value : value
            }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { buffer in
                for (offset, byte) in text.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
                buffer[text.count] = 0
                return strtod(buffer.baseAddress!, nil)
            }
        }

        static let powersOfTen: [Double] = (0...22).map { exponent in
            var value = 1.0
            for _ in 0..<exponent { value *= 10 }
            return value
        }
    }
}
