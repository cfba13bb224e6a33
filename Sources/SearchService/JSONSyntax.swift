import Foundation

/// Finds where a JSON text first goes wrong, so a 400 can name the line and column (Foundation's decoder
/// reports a syntax error without a position on every platform).
enum JSONSyntax {
    /// "unexpected 'x' at line L, column C" (or "unexpected end of input ..."), for the first error in `data`.
    static func firstError(in data: Data) -> String {
        var scanner = Scanner(bytes: [UInt8](data))
        do {
            scanner.skipSpace()
            try scanner.value(depth: 0)
            scanner.skipSpace()
            if scanner.index < scanner.bytes.count { throw scanner.unexpected("after the top-level value") }
            return "invalid JSON"
        } catch let error as Failure {
            return error.message
        } catch {
            return "invalid JSON"
        }
    }

    /// The JSON name of a Swift type for messages.
    static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "an array"
        default:
            let text = String(describing: type)
            return text.hasPrefix("Array") ? "an array" : text.hasPrefix("Dictionary") ? "an object" : "a \(text)"
        }
    }

    private struct Failure: Error { let message: String }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func position(_ at: Int) -> String {
            var line = 1, column = 1
            for byte in bytes[..<min(at, bytes.count)] {
                if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
            }
            return "line \(line), column \(column)"
        }

        func unexpected(_ context: String) -> Failure {
            guard index < bytes.count else { return Failure(message: "unexpected end of input \(context) at \(position(index))") }
            let scalar = Unicode.Scalar(bytes[index])
            let shown = bytes[index] < 0x80 && bytes[index] >= 0x20 ? "'\(Character(scalar))'" : String(format: "byte 0x%02X", bytes[index])
            return Failure(message: "unexpected \(shown) \(context) at \(position(index))")
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for byte in literal.utf8 {
                guard index < bytes.count, bytes[index] == byte else { throw unexpected("in literal '\(literal)'") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws {
            guard depth < 512 else { throw Failure(message: "nesting deeper than 512 at \(position(index))") }
            guard index < bytes.count else { throw unexpected("where a value was expected") }
            switch bytes[index] {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try expect("true")
            case UInt8(ascii: "f"): try expect("false")
            case UInt8(ascii: "n"): try expect("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw unexpected("where a value was expected")
            }
        }

        mutating func object(depth: Int) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("where a key was expected") }
                try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected("where ':' was expected") }
                index += 1
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw unexpected("where ',' or '}' was expected") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return }
                throw unexpected("where ',' or '}' was expected")
            }
        }

        mutating func array(depth: Int) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw unexpected("where ',' or ']' was expected") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return }
                throw unexpected("where ',' or ']' was expected")
            }
        }

        mutating func string() throws {
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { index += 1; return }
                if byte < 0x20 { throw unexpected("inside a string (control characters must be escaped)") }
                if byte == UInt8(ascii: "\\") { index += 1 }
                index += 1
            }
            throw unexpected("inside a string (missing closing quote)")
        }

        mutating func number() throws {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if Double(text) == nil || text.hasPrefix("+") {
                index = start
                throw unexpected("in a number")
            }
        }
    }
}
