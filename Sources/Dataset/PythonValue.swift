/// A value as Python's `json.loads` returns it, with Python's equality (`1 == 1.0 == True`) and hashing, so
/// dictionaries and sets of these behave like the reference's.
public enum PythonValue: Hashable, Sendable {
    /// A Python `int` that fits 64 bits.
    case int(Int64)
    /// A Python `int` beyond 64 bits, as its canonical decimal digits (with `-` when negative).
    case bigInt(String)
    case float(Double)
    case bool(Bool)
    case string(String)
    case none
    case list([PythonValue])
    /// A `dict`: keys in insertion order (a repeated key keeps its first place and takes the last value).
    case dict(PythonDict)

    /// Python's type name (`int`, `float`, `str`, `list`, `dict`, `bool`, `NoneType`).
    public var typeName: String {
        switch self {
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .bool: return "bool"
        case .string: return "str"
        case .none: return "NoneType"
        case .list: return "list"
        case .dict: return "dict"
        }
    }

    /// Whether `isinstance(value, int)` holds (true for `bool` too, as in Python).
    public var isPythonInt: Bool {
        switch self {
        case .int, .bigInt, .bool: return true
        default: return false
        }
    }

    /// The value as a 64-bit integer when it is a Python `int` (not `bool`) that fits.
    public var int64Value: Int64? {
        if case let .int(value) = self { return value }
        return nil
    }

    /// Whether the value can be a set member or dict key (lists and dicts cannot).
    public var isHashable: Bool {
        switch self {
        case .list, .dict: return false
        default: return true
        }
    }

    /// The numeric value for cross-type comparison, exact for bools and 64-bit ints.
    private var numeric: (integer: Int64?, real: Double)? {
        switch self {
        case let .int(value): return (value, Double(value))
        case let .bool(value): return (value ? 1 : 0, value ? 1 : 0)
        case let .float(value): return (nil, value)
        default: return nil
        }
    }

    public static func == (lhs: PythonValue, rhs: PythonValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case (.none, .none): return true
        case let (.list(a), .list(b)): return a == b
        case let (.dict(a), .dict(b)): return a == b
        case let (.bigInt(a), .bigInt(b)): return a == b
        default:
            guard let a = lhs.numeric, let b = rhs.numeric else { return false }
            if let x = a.integer, let y = b.integer { return x == y }
            if let x = a.integer { return exactlyEqual(x, b.real) }
            if let y = b.integer { return exactlyEqual(y, a.real) }
            // JSON's NaN constants are one shared object in Python, so containers find them by identity.
            return a.real == b.real || (a.real.isNaN && b.real.isNaN)
        }
    }

    private static func exactlyEqual(_ integer: Int64, _ real: Double) -> Bool {
        guard real.isFinite, real.rounded(.towardZero) == real, real >= -0x1p63, real < 0x1p63 else { return false }
        return Int64(real) == integer
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pythonHash ?? 0)
    }

    /// CPython's `hash()` of the value for ints, bools and floats (deterministic there); for strings (whose hash
    /// CPython randomises per process) a fixed stand-in; nil for lists and dicts (unhashable).
    public var pythonHash: Int64? {
        switch self {
        case let .int(value): return PythonHash.ofInteger(value)
        case let .bigInt(digits): return PythonHash.ofDecimalDigits(digits)
        case let .bool(value): return value ? 1 : 0
        case let .float(value): return PythonHash.ofDouble(value)
        case let .string(text):
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let signed = Int64(bitPattern: hash)
            return signed == -1 ? -2 : signed
        case .none: return 0x5F5E_1000
        case .list, .dict: return nil
        }
    }
}

/// A Python `dict` parsed from JSON: entries in first-insertion order.
public struct PythonDict: Hashable, Sendable {
    /// Keys and values in the order Python iterates them.
    public private(set) var entries: [(key: PythonValue, value: PythonValue)] = []
    private var positions: [PythonValue: Int] = [:]

    public init() {}

    /// Sets `key` to `value` as `d[key] = value` does (an existing key keeps its place and its original key object).
    public mutating func set(_ key: PythonValue, _ value: PythonValue) {
        if let position = positions[key] {
            entries[position].value = value
        } else {
            positions[key] = entries.count
            entries.append((key, value))
        }
    }

    /// `d[key]`, or nil when absent.
    public subscript(key: PythonValue) -> PythonValue? {
        positions[key].map { entries[$0].value }
    }

    /// `d[name]` for a string key.
    public subscript(name: String) -> PythonValue? { self[.string(name)] }

    public var count: Int { entries.count }

    public static func == (lhs: PythonDict, rhs: PythonDict) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(count) }
}

/// CPython's numeric hash (`sys.hash_info`: modulus 2^61 − 1, inf → 314159).
enum PythonHash {
    static let modulus: UInt64 = (1 << 61) - 1

    static func ofInteger(_ value: Int64) -> Int64 {
        let magnitude = Int64(value.magnitude % modulus)
        let hash = value < 0 ? -magnitude : magnitude
        return hash == -1 ? -2 : hash
    }

    static func ofDecimalDigits(_ digits: String) -> Int64 {
        var remainder: UInt64 = 0
        for byte in digits.utf8 where byte >= 0x30 && byte <= 0x39 {
            remainder = UInt64((UInt128(remainder) * 10 + UInt128(byte - 0x30)) % UInt128(modulus))
        }
        let hash = digits.hasPrefix("-") ? -Int64(remainder) : Int64(remainder)
        return hash == -1 ? -2 : hash
    }

    static func ofDouble(_ value: Double) -> Int64 {
        if value.isNaN { return 0 }
        if value.isInfinite { return value > 0 ? 314_159 : -314_159 }
        var mantissa = abs(value)
        var exponent = 0
        if mantissa != 0 {
            let parts = frexpParts(mantissa)
            mantissa = parts.fraction
            exponent = parts.exponent
        }
        var x: UInt64 = 0
        while mantissa != 0 {
            x = ((x << 28) & modulus) | x >> (61 - 28)
            mantissa *= 268_435_456.0
            exponent -= 28
            let digit = UInt64(mantissa)
            mantissa -= Double(digit)
            x += digit
            if x >= modulus { x -= modulus }
        }
        let shift = exponent >= 0 ? exponent % 61 : 61 - 1 - ((-1 - exponent) % 61)
        x = ((x << UInt64(shift)) & modulus) | x >> UInt64(61 - shift)
        var hash = Int64(x)
        if value < 0 { hash = -hash }
        return hash == -1 ? -2 : hash
    }

    /// `frexp`: value = fraction · 2^exponent with fraction in [0.5, 1).
    private static func frexpParts(_ value: Double) -> (fraction: Double, exponent: Int) {
        let exponent = Int(value.exponent) + 1
        return (value / Double(sign: .plus, exponent: exponent, significand: 1), exponent)
    }
}
