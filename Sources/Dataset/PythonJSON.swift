/// Python's `json.loads` on one document: the same accepted language (NaN/Infinity constants, big ints, duplicate
/// keys where the last wins) and the same `JSONDecodeError` messages, positions counted in code points.
public enum PythonJSON {
    /// A document `json.loads` rejects; `message` is Python's `str(error)`, e.g.
    /// `Expecting value: line 1 column 1 (char 0)`.
    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// Parses `text` as `json.loads(text)` does.
    public static func parse(_ text: String) throws(DecodeError) -> PythonValue {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var depth = 0
        static let maximumDepth = 900

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        func character(_ index: Int) -> UInt32 { index < scalars.count ? scalars[index].value : 0xFFFF_FFFF }

        func failure(_ message: String, at position: Int) -> DecodeError {
            var line = 1
            var lastNewline = -1
            for index in 0..<min(position, scalars.count) where scalars[index] == "\n" {
                line += 1
                lastNewline = index
            }
            return DecodeError(message: "\(message): line \(line) column \(position - lastNewline) (char \(position))")
        }

        func skipWhitespace(_ index: Int) -> Int {
            var index = index
            while index < scalars.count, [0x20, 0x09, 0x0A, 0x0D].contains(scalars[index].value) { index += 1 }
            return index
        }

        mutating func document() throws(DecodeError) -> PythonValue {
            if scalars.first == "\u{FEFF}" { throw failure("Unexpected UTF-8 BOM (decode using utf-8-sig)", at: 0) }
            let start = skipWhitespace(0)
            guard let (value, next) = try value(at: start) else { throw failure("Expecting value", at: start) }
            let end = skipWhitespace(next)
            if end != scalars.count { throw failure("Extra data", at: end) }
            return value
        }

        /// One value starting at `index`; nil where Python's scanner raises StopIteration (no value there).
        mutating func value(at index: Int) throws(DecodeError) -> (PythonValue, Int)? {
            guard index < scalars.count else { return nil }
            switch scalars[index] {
            case "\"": return try string(openingQuote: index)
            case "{":
                try enter(index, "object")
                defer { depth -= 1 }
                return try object(at: index + 1)
            case "[":
                try enter(index, "array")
                defer { depth -= 1 }
                return try array(at: index + 1)
            case "n" where matches("null", at: index): return (.none, index + 4)
            case "t" where matches("true", at: index): return (.bool(true), index + 4)
            case "f" where matches("false", at: index): return (.bool(false), index + 5)
            case "N" where matches("NaN", at: index): return (.float(.nan), index + 3)
            case "I" where matches("Infinity", at: index): return (.float(.infinity), index + 8)
            case "-" where matches("-Infinity", at: index): return (.float(-.infinity), index + 9)
            default: return number(at: index)
            }
        }

        mutating func enter(_ index: Int, _ kind: String) throws(DecodeError) {
            depth += 1
            if depth > Self.maximumDepth {
                throw DecodeError(message: "maximum recursion depth exceeded while decoding a JSON \(kind) from a unicode string")
            }
        }

        func matches(_ word: String, at index: Int) -> Bool {
            var position = index
            for scalar in word.unicodeScalars {
                guard position < scalars.count, scalars[position] == scalar else { return false }
                position += 1
            }
            return true
        }

        func isDigit(_ index: Int) -> Bool { index < scalars.count && (0x30...0x39).contains(scalars[index].value) }

        func number(at start: Int) -> (PythonValue, Int)? {
            var index = start
            if character(index) == 0x2D {
                index += 1
                if index >= scalars.count { return nil }
            }
            let first = character(index)
            if (0x31...0x39).contains(first) {
                index += 1
                while isDigit(index) { index += 1 }
            } else if first == 0x30 {
                index += 1
            } else {
                return nil
            }
            var isFloat = false
            if index + 1 < scalars.count, character(index) == 0x2E, isDigit(index + 1) {
                isFloat = true
                index += 2
                while isDigit(index) { index += 1 }
            }
            if index + 1 < scalars.count, character(index) == 0x65 || character(index) == 0x45 {
                let exponentStart = index
                index += 1
                if index + 1 < scalars.count, character(index) == 0x2D || character(index) == 0x2B { index += 1 }
                while isDigit(index) { index += 1 }
                if isDigit(index - 1) { isFloat = true } else { index = exponentStart }
            }
            let literal = String(String.UnicodeScalarView(scalars[start..<index]))
            if isFloat { return (.float(Double(literal) ?? .nan), index) }
            return (Self.integer(literal), index)
        }

        static func integer(_ literal: String) -> PythonValue {
            if let value = Int64(literal) { return .int(value) }
            return .bigInt(literal)
        }

        func string(openingQuote: Int) throws(DecodeError) -> (PythonValue, Int) {
            var result = String.UnicodeScalarView()
            var index = openingQuote + 1
            while true {
                var next = index
                var found: UInt32 = 0
                while next < scalars.count {
                    found = scalars[next].value
                    if found == 0x22 || found == 0x5C { break }
                    if found <= 0x1F { throw failure("Invalid control character at", at: next) }
                    next += 1
                }
                if next >= scalars.count { throw failure("Unterminated string starting at", at: openingQuote) }
                result.append(contentsOf: scalars[index..<next])
                next += 1
                if found == 0x22 { return (.string(String(result)), next) }
                if next == scalars.count { throw failure("Unterminated string starting at", at: openingQuote) }
                let escape = scalars[next].value
                if escape != 0x75 {
                    let decoded: UInt32?
                    switch escape {
                    case 0x22, 0x5C, 0x2F: decoded = escape
                    case 0x62: decoded = 0x08
                    case 0x66: decoded = 0x0C
                    case 0x6E: decoded = 0x0A
                    case 0x72: decoded = 0x0D
                    case 0x74: decoded = 0x09
                    default: decoded = nil
                    }
                    guard let decoded, let scalar = Unicode.Scalar(decoded) else {
                        throw failure("Invalid \\escape", at: next - 1)
                    }
                    result.append(scalar)
                    index = next + 1
                    continue
                }
                var end = next + 5
                guard end < scalars.count else { throw failure("Invalid \\uXXXX escape", at: next) }
                guard var code = hex(next + 1) else { throw failure("Invalid \\uXXXX escape", at: end - 5) }
                if (0xD800...0xDBFF).contains(code), end + 6 < scalars.count,
                   scalars[end] == "\\", scalars[end + 1] == "u" {
                    guard let low = hex(end + 2) else { throw failure("Invalid \\uXXXX escape", at: end + 1) }
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        end += 6
                    }
                }
                // A lone surrogate (legal in a Python str) cannot live in a Swift String: it becomes U+FFFD.
                result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                index = end
            }
        }

        func hex(_ index: Int) -> UInt32? {
            var code: UInt32 = 0
            for position in index..<index + 4 {
                let value = scalars[position].value
                switch value {
                case 0x30...0x39: code = code << 4 | (value - 0x30)
                case 0x41...0x46: code = code << 4 | (value - 0x37)
                case 0x61...0x66: code = code << 4 | (value - 0x57)
                default: return nil
                }
            }
            return code
        }

        mutating func object(at start: Int) throws(DecodeError) -> (PythonValue, Int) {
            var dict = PythonDict()
            var index = skipWhitespace(start)
            if index < scalars.count, scalars[index] == "}" { return (.dict(dict), index + 1) }
            while true {
                guard index < scalars.count, scalars[index] == "\"" else {
                    throw failure("Expecting property name enclosed in double quotes", at: index)
                }
                let (key, afterKey) = try string(openingQuote: index)
                index = skipWhitespace(afterKey)
                guard index < scalars.count, scalars[index] == ":" else { throw failure("Expecting ':' delimiter", at: index) }
                index = skipWhitespace(index + 1)
                guard let (value, afterValue) = try value(at: index) else { throw failure("Expecting value", at: index) }
                dict.set(key, value)
                index = skipWhitespace(afterValue)
                if index < scalars.count, scalars[index] == "}" { return (.dict(dict), index + 1) }
                guard index < scalars.count, scalars[index] == "," else { throw failure("Expecting ',' delimiter", at: index) }
                index = skipWhitespace(index + 1)
            }
        }

        mutating func array(at start: Int) throws(DecodeError) -> (PythonValue, Int) {
            var items: [PythonValue] = []
            var index = skipWhitespace(start)
            if index < scalars.count, scalars[index] == "]" { return (.list(items), index + 1) }
            while true {
                guard let (value, afterValue) = try value(at: index) else { throw failure("Expecting value", at: index) }
                items.append(value)
                index = skipWhitespace(afterValue)
                if index < scalars.count, scalars[index] == "]" { return (.list(items), index + 1) }
                guard index < scalars.count, scalars[index] == "," else { throw failure("Expecting ',' delimiter", at: index) }
                index = skipWhitespace(index + 1)
            }
        }
    }
}
