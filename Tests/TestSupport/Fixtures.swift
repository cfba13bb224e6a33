import Foundation

/// Access to the reference-made fixtures under `Tests/Fixtures/` (written by `Scripts/fixtures/`, see its README).
///
/// Tensor fixtures are JSON files of the form
/// `{"tensors": {"<name>": {"shape": [..], "data": [flat row-major values]}}, "meta": {...}}`;
/// float32 values are written as Python `repr` of the float widened to double, so they parse back exactly.
public enum Fixtures {
    /// The `Tests/Fixtures` directory of this checkout.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// URL of a fixture file, e.g. `url("tensor/layernorm.json")`.
    public static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    /// Raw bytes of a fixture file.
    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// The decoded JSON object of a fixture file.
    public static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(relativePath), options: [.fragmentsAllowed])
    }

    /// The tensors of a tensor fixture file, by name.
    public static func tensors(_ relativePath: String) throws -> [String: FixtureTensor] {
        guard let object = try json(relativePath) as? [String: Any],
              let entries = object["tensors"] as? [String: Any] else {
            throw FixtureError.malformed(relativePath, "no \"tensors\" object")
        }
        var result: [String: FixtureTensor] = [:]
        for (name, value) in entries {
            guard let entry = value as? [String: Any],
                  let shape = entry["shape"] as? [Int],
                  let data = entry["data"] as? [Any] else {
                throw FixtureError.malformed(relativePath, "tensor \(name) lacks shape or data")
            }
            let values = try data.map { element -> Double in
                if let number = element as? NSNumber { return number.doubleValue }
                if let text = element as? String, let special = Double(text) { return special }
                throw FixtureError.malformed(relativePath, "tensor \(name) holds a non-number")
            }
            result[name] = FixtureTensor(shape: shape, values: values)
        }
        return result
    }

    /// The `meta` object of a tensor fixture file (empty when absent).
    public static func meta(_ relativePath: String) throws -> [String: Any] {
        let object = try json(relativePath) as? [String: Any]
        return object?["meta"] as? [String: Any] ?? [:]
    }
}

/// One tensor from a fixture file.
public struct FixtureTensor: Sendable {
    public let shape: [Int]
    public let values: [Double]

    /// The values as fp32 (exact for values the reference computed in fp32).
    public var floats: [Float] { values.map { Float($0) } }
    /// The values as integers (token ids, labels, indices).
    public var ints: [Int] { values.map { Int($0) } }
}

/// A fixture file that does not have the documented layout.
public enum FixtureError: Error, CustomStringConvertible {
    case malformed(String, String)

    public var description: String {
        switch self {
        case let .malformed(file, reason): return "fixture \(file): \(reason)"
        }
    }
}

/// Largest absolute difference between two equally long sequences (∞ when the lengths differ).
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for i in 0..<a.count {
        let difference = abs(a[i] - b[i])
        if difference.isNaN { return .infinity }
        worst = max(worst, difference)
    }
    return worst
}
