import Dataset

/// Reads a feature file as top-k search needs it: every feature of one dimension, no empty features, no id
/// twice; each violation is an error naming the file and line.
public final class FeatureFileScanner {
    private let reader: FeatureJSONLReader
    /// The dimension every line must have; taken from the first line when not given.
    public private(set) var dimension: Int?
    /// Where the dimension came from, for the error message.
    private var dimensionSource: String
    private var firstLineOfId: [Int64: Int] = [:]
    private var feature: [Float] = []

    /// Opens `path`; `dimension` (with `source` naming where it came from) fixes the expected feature length.
    public init(path: String, kind: FeatureRecord.Kind, dimension: Int? = nil, source: String = "") throws(DatasetError) {
        reader = try FeatureJSONLReader(path: path, kind: kind)
        self.dimension = dimension
        dimensionSource = source
    }

    public var path: String { reader.path }
    /// Bytes consumed so far (for progress reports).
    public var bytesRead: Int { reader.bytesRead }

    /// Reads the next line, copying its feature to `destination` (room for `dimension` floats, or for any length
    /// when the dimension is still unknown: then pass nil and read `lastFeature`); returns the id, nil at the end.
    public func next(into destination: UnsafeMutablePointer<Float>?) throws(DatasetError) -> Int64? {
        guard let id = try reader.next(into: &feature) else { return nil }
        let line = reader.lineNumber
        func malformed(_ reason: String) -> DatasetError { .malformedLine(file: reader.path, line: line, reason: reason) }
        if feature.isEmpty { throw malformed("empty feature") }
        if let dimension {
            guard feature.count == dimension else {
                throw malformed("feature has \(feature.count) values, expected \(dimension) (\(dimensionSource))")
            }
        } else {
            dimension = feature.count
            dimensionSource = "as on line \(line) of \(reader.path)"
        }
        if let first = firstLineOfId.updateValue(line, forKey: id) {
            firstLineOfId[id] = first
            throw malformed("duplicate \(reader.kind.rawValue) \(id) (first on line \(first))")
        }
        if let destination {
            feature.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { destination.update(from: base, count: source.count) }
            }
        }
        return id
    }

    /// The values of the line `next` read last.
    public var lastFeature: [Float] { feature }

    /// Every remaining line: ids in file order and their features as one row-major `[count, dimension]` array.
    public func readAll() throws(DatasetError) -> (ids: [Int64], values: [Float]) {
        var ids: [Int64] = []
        var values: [Float] = []
        while let id = try next(into: nil) {
            ids.append(id)
            values.append(contentsOf: feature)
        }
        return (ids, values)
    }
}
