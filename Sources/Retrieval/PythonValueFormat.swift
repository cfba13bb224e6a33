import Dataset

extension PythonValue {
    /// Python's `str(value)`: strings as they are, everything else as `repr`.
    public var pythonStr: String {
        if case let .string(text) = self { return text }
        return pythonRepr
    }

    /// Python's `repr(value)`: `True`, `None`, `'text'`, `[1, 'a']`, `{'k': 1.5}`.
    public var pythonRepr: String {
        switch self {
        case let .int(value): return String(value)
        case let .bigInt(digits): return digits
        case let .float(value): return Retrieval.pythonRepr(value)
        case let .bool(value): return value ? "True" : "False"
        case .none: return "None"
        case let .string(text): return pythonStringRepr(text)
        case let .list(items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case let .dict(dict):
            return "{" + dict.entries.map { $0.key.pythonRepr + ": " + $0.value.pythonRepr }.joined(separator: ", ") + "}"
        }
    }

    /// Python's `json.dumps(value)` with default settings: separators `", "` and `": "`, non-ASCII escaped as
    /// `\uXXXX` (`ensure_ascii`), floats as `repr` (`NaN`, `Infinity`, `-Infinity` for the specials).
    public var jsonDumps: String {
        var output = ""
        appendJSON(to: &output)
        return output
    }

    private func appendJSON(to output: inout String) {
        switch self {
        case let .int(value): output += String(value)
        case let .bigInt(digits): output += digits
        case let .float(value):
            if value.isNaN { output += "NaN" } else if value.isInfinite { output += value < 0 ? "-Infinity" : "Infinity" } else {
                output += Retrieval.pythonRepr(value)
            }
        case let .bool(value): output += value ? "true" : "false"
        case .none: output += "null"
        case let .string(text): appendJSONString(text, to: &output)
        case let .list(items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += ", " }
                item.appendJSON(to: &output)
            }
            output += "]"
        case let .dict(dict):
            output += "{"
            for (index, entry) in dict.entries.enumerated() {
                if index > 0 { output += ", " }
                entry.key.appendJSONKey(to: &output)
                output += ": "
                entry.value.appendJSON(to: &output)
            }
            output += "}"
        }
    }

    /// Keys as `json.dumps` writes them: strings quoted, numbers, bools and None turned into their JSON text.
    private func appendJSONKey(to output: inout String) {
        switch self {
        case .string: appendJSON(to: &output)
        default:
            var text = ""
            appendJSON(to: &text)
            appendJSONString(text, to: &output)
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`; backslash escapes for the quote,
/// `\\`, `\t`, `\n`, `\r`, other control characters and non-printable code points.
public func pythonStringRepr(_ text: String) -> String {
    let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
    var output = String(quote)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": output += "\\\\"
        case "\t": output += "\\t"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        default:
            if Character(scalar) == quote {
                output += "\\" + String(quote)
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                output += "\\x" + hexDigits(scalar.value, count: 2)
            } else if scalar.value < 0x7F || isPythonPrintable(scalar) {
                output.unicodeScalars.append(scalar)
            } else if scalar.value <= 0xFF {
                output += "\\x" + hexDigits(scalar.value, count: 2)
            } else if scalar.value <= 0xFFFF {
                output += "\\u" + hexDigits(scalar.value, count: 4)
            } else {
                output += "\\U" + hexDigits(scalar.value, count: 8)
            }
        }
    }
    return output + String(quote)
}

/// `str.isprintable` for one code point: not a separator (other than space), control, format, private-use,
/// surrogate or unassigned character.
private func isPythonPrintable(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == " " { return true }
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

/// `json.dumps` of a string with `ensure_ascii`: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other characters below
/// 0x20 and all non-ASCII as lowercase `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
func appendJSONString(_ text: String, to output: inout String) {
    output += "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\\": output += "\\\\"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        case "\t": output += "\\t"
        case "\u{08}": output += "\\b"
        case "\u{0C}": output += "\\f"
        default:
            if scalar.value < 0x20 || scalar.value > 0x7E {
                for unit in String(scalar).utf16 { output += "\\u" + hexDigits(UInt32(unit), count: 4) }
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
    }
    output += "\""
}

private func hexDigits(_ value: UInt32, count: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, count - digits.count)) + digits
}
