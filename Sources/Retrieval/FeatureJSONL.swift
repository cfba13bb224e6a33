import Dataset
import Foundation

/// One line of a feature file written by `extract_features.py`: `{"text_id": id, "feature": [...]}` or
/// `{"image_id": id, "feature": [...]}`.
public struct FeatureRecord: Equatable, Sendable {
    /// Whose feature a file holds; the JSON key of the id.
    public enum Kind: String, Sendable {
        case text = "text_id"
        case image = "image_id"
    }

    public let id: Int64
    public let feature: [Float]

    public init(id: Int64, feature: [Float]) {
        self.id = id
        self.feature = feature
    }

    /// The line the reference writes (without the newline): `json.dumps` of the dict, each float32 value widened
    /// to double and printed as Python `repr`, e.g. `-0.016992714256048203`.
    public func jsonLine(kind: Kind) -> String {
        var line = "{\"\(kind.rawValue)\": \(id), \"feature\": ["
        line.reserveCapacity(feature.count * 22 + 32)
        for (index, value) in feature.enumerated() {
            if index > 0 { line += ", " }
            if value.isNaN { line += "NaN" } else if value.isInfinite { line += value < 0 ? "-Infinity" : "Infinity" } else {
                line += pythonRepr(value)
            }
        }
        return line + "]}"
    }
}

/// Writes a feature file line by line into a temporary file that `finish()` renames into place, so an interrupted
/// run leaves no half-written file under the final name.
public final class FeatureJSONLWriter {
    public let path: String
    public let kind: FeatureRecord.Kind
    private let temporaryPath: String
    private let handle: FileHandle
    private var pending = Data()
    private var finished = false

    public init(path: String, kind: FeatureRecord.Kind) throws(DatasetError) {
        self.path = path
        self.kind = kind
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)").path
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath) else {
            throw DatasetError.unreadableFile(file: path, reason: "cannot create \(temporaryPath)")
        }
        self.handle = handle
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporaryPath)
        }
    }

    /// Appends one record's line.
    public func write(_ record: FeatureRecord) throws(DatasetError) {
        pending.append(contentsOf: (record.jsonLine(kind: kind) + "\n").utf8)
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Appends lines already formatted by `FeatureRecord.jsonLine(kind:)`, each ending in a newline (another
    /// rank's share of a sharded extraction).
    public func write(lines: [UInt8]) throws(DatasetError) {
        pending.append(contentsOf: lines)
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Flushes, closes and renames the file to `path`.
    public func finish() throws(DatasetError) {
        try flush()
        do {
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        } catch {
            throw DatasetError.unreadableFile(file: path, reason: "cannot finish: \(error.localizedDescription)")
        }
        finished = true
    }

    private func flush() throws(DatasetError) {
        do { try handle.write(contentsOf: pending) } catch {
            throw DatasetError.unreadableFile(file: path, reason: "cannot write: \(error.localizedDescription)")
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Reads a feature file line by line; each `feature` value becomes a float32 as `torch.tensor(..., float32)` does.
/// Lines in the layout the extract script writes take a fast path (`FeatureLineParser`); any other line goes
/// through the general JSON parser, so both give the same values and errors.
public final class FeatureJSONLReader {
    public let kind: FeatureRecord.Kind
    private let reader: TextLineReader
    private let idKey: [UInt8]

    public init(path: String, kind: FeatureRecord.Kind) throws(DatasetError) {
        self.kind = kind
        reader = try TextLineReader(path: path)
        idKey = Array(kind.rawValue.utf8)
    }

    /// The file being read, as given.
    public var path: String { reader.path }
    /// Number of the line last returned (1-based).
    public var lineNumber: Int { reader.lineNumber }
    /// Bytes consumed so far (for progress reports).
    public var bytesRead: Int { reader.bytesRead }

    /// The next record, or nil at the end; a malformed line is an error naming the file and line.
    public func next() throws(DatasetError) -> FeatureRecord? {
        var feature: [Float] = []
        guard let id = try next(into: &feature) else { return nil }
        return FeatureRecord(id: id, feature: feature)
    }

    /// The next record's id, with its feature values replacing the contents of `feature` (whose capacity is
    /// reused); nil at the end of the file.
    public func next(into feature: inout [Float]) throws(DatasetError) -> Int64? {
        feature.removeAll(keepingCapacity: true)
        guard let bytes = try reader.nextLine() else { return nil }
        let fast = bytes.withUnsafeBufferPointer { FeatureLineParser.parse($0, idKey: idKey, features: &feature) }
        if let fast { return fast }
        guard let line = String(validating: bytes, as: UTF8.self) else { throw malformed("not valid UTF-8") }
        return try parseGeneral(line, into: &feature)
    }

    private func malformed(_ reason: String) -> DatasetError {
        .malformedLine(file: reader.path, line: reader.lineNumber, reason: reason)
    }

    private func parseGeneral(_ line: String, into feature: inout [Float]) throws(DatasetError) -> Int64 {
        let object: PythonValue
        do { object = try PythonJSON.parse(line.pythonStripped) } catch { throw malformed("invalid JSON: \(error.message)") }
        guard case let .dict(dict) = object else { throw malformed("expected a JSON object, found \(object.typeName)") }
        guard let id = dict[kind.rawValue]?.int64Value else { throw malformed("missing or non-integer \"\(kind.rawValue)\"") }
        guard case let .list(items)? = dict["feature"] else { throw malformed("missing or non-list \"feature\"") }
        feature.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            switch item {
            case let .float(value): feature.append(Float(value))
            case let .int(value): feature.append(Float(value))
            default: throw malformed("feature[\(index)] is not a number (\(item.typeName))")
            }
        }
        return id
    }

    /// Every remaining record.
    public func readAll() throws(DatasetError) -> [FeatureRecord] {
        var records: [FeatureRecord] = []
        while let record = try next() { records.append(record) }
        return records
    }
}
