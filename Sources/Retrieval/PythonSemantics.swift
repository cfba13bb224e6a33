import Dataset

/// A Python exception as the reference's scripts report it: `e.args[0]` (a message, a missing key, or an errno).
struct PythonException: Error {
    let argument: PythonValue
    /// Whether this is a `KeyError` (then `argument` is the missing key).
    var isKeyError = false

    init(_ message: String) { argument = .string(message) }
    init(errno: Int32) { argument = .int(Int64(errno)) }
    init(missingKey: String) {
        argument = .string(missingKey)
        isKeyError = true
    }
}

extension PythonValue {
    /// `value[name]` for a string key, raising what Python raises: `KeyError(name)` for a dict without it,
    /// `TypeError` for the other types.
    func subscripted(_ name: String) throws(PythonException) -> PythonValue {
        switch self {
        case let .dict(dict):
            guard let value = dict[name] else { throw PythonException(missingKey: name) }
            return value
        case .list: throw PythonException("list indices must be integers or slices, not str")
        case .string: throw PythonException("string indices must be integers, not 'str'")
        default: throw PythonException("'\(typeName)' object is not subscriptable")
        }
    }

    /// `name in value`: dict keys, list items, substrings; `TypeError` for scalars.
    func containsMember(_ name: String) throws(PythonException) -> Bool {
        switch self {
        case let .dict(dict): return dict[name] != nil
        case let .list(items): return items.contains(.string(name))
        case let .string(text): return text.contains(name)
        default: throw PythonException("argument of type '\(typeName)' is not iterable")
        }
    }

    /// `list(iter(value))`: list items, dict keys, the characters of a string; `TypeError` for scalars.
    func iterated() throws(PythonException) -> [PythonValue] {
        switch self {
        case let .list(items): return items
        case let .dict(dict): return dict.entries.map(\.key)
        case let .string(text): return text.unicodeScalars.map { .string(String($0)) }
        default: throw PythonException("'\(typeName)' object is not iterable")
        }
    }

    /// Raises `TypeError: unhashable type` where Python would when the value becomes a set member or dict key.
    func requireHashable() throws(PythonException) {
        if !isHashable { throw PythonException("unhashable type: '\(typeName)'") }
    }
}

/// The lines of a text file as Python's text mode yields them (UTF-8, universal newlines), each passed through
/// `str.strip()`. Raises what `open` and reading raise: the errno for an unopenable file, `'utf-8'` (the
/// `UnicodeDecodeError`'s first argument) for bytes that are not UTF-8.
func pythonStrippedLines(ofFile path: String) throws(PythonException) -> [String] {
    let reader: TextLineReader
    do { reader = try TextLineReader(path: path) } catch { throw PythonException(errno: openErrno(path)) }
    var lines: [String] = []
    do {
        while let line = try reader.nextString() { lines.append(line.pythonStripped) }
    } catch {
        throw PythonException("utf-8")
    }
    return lines
}
