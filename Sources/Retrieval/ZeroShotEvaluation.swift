import Dataset
import Foundation

/// Class probabilities of every image of a dataset, with the labels and the top-1 count.
public struct ZeroShotPredictions: Sendable {
    /// Number of classes (columns).
    public let classCount: Int
    /// Row-major `[count, classCount]` probabilities.
    public let probabilities: [Float]
    /// The label of each row.
    public let targets: [Int]
    /// Images whose most probable class is their label, counted over the dataset before any reordering.
    public let correct: Int
    /// Images the accuracy is counted over.
    public let evaluated: Int

    /// Rows.
    public var count: Int { targets.count }

    /// Top-1 accuracy as a fraction (the reference prints it with Python's float repr, e.g. `0.5`).
    public var top1: Double { evaluated == 0 ? .nan : Double(correct) / Double(evaluated) }

    /// The row of image `row`.
    public func probabilities(ofRow row: Int) -> ArraySlice<Float> {
        probabilities[(row * classCount)..<((row + 1) * classCount)]
    }

    /// Rows picked by `index` (as `outputs[index]`, `targets[index]` in the reference); the accuracy keeps
    /// counting the dataset as evaluated. Indices must be within `0..<count` (see `ZeroShotEvaluation.index`).
    /// - Throws: `ZeroShotError.invalidInput` for an index out of range.
    public func reordered(by index: [Int]) throws -> ZeroShotPredictions {
        if let bad = index.first(where: { !(0..<count).contains($0) }) {
            throw ZeroShotError.invalidInput("index \(bad) is out of bounds for \(count) predictions")
        }
        var rows: [Float] = []
        rows.reserveCapacity(index.count * classCount)
        for row in index { rows += probabilities(ofRow: row) }
        return ZeroShotPredictions(classCount: classCount, probabilities: rows, targets: index.map { targets[$0] },
                                   correct: correct, evaluated: evaluated)
    }
}

/// The reference's `zeroshot_evaluation.py` over a folder dataset: classify every image in batches, count top-1.
public enum ZeroShotEvaluation {
    /// Classifies every image of `dataset` with `classifier`, `batchSize` images at a time, decoding on `workers`
    /// threads.
    /// - Parameters:
    ///   - progress: called with the number of images done after each batch.
    ///   - warning: called with each Pillow-compatibility warning of the image decoders (naming the file).
    /// - Throws: `ZeroShotError.unreadableImage` naming the first image that cannot be decoded (the run stops: the
    ///   prediction rows must stay aligned with the dataset and `--index`), or model errors.
    public static func run(_ classifier: ZeroShotClassifier, on dataset: ImageFolderDataset, batchSize: Int,
                           workers: Int = 0, progress: ((Int) -> Void)? = nil,
                           warning: ((String) -> Void)? = nil) throws -> ZeroShotPredictions {
        guard batchSize > 0 else { throw ZeroShotError.invalidInput("the image batch size must be positive") }
        let classCount = classifier.labels.count
        var probabilities: [Float] = []
        probabilities.reserveCapacity(dataset.samples.count * classCount)
        var correct = 0
        for start in stride(from: 0, to: dataset.samples.count, by: batchSize) {
            let batch = dataset.samples[start..<min(start + batchSize, dataset.samples.count)]
            let (images, warnings) = try zeroShotImageBatch(batch.map(\.path), preprocessor: classifier.model.preprocessor,
                                                            workers: workers)
            warnings.forEach { warning?($0) }
            let rows = try classifier.classify(images).toArray()
            for (offset, sample) in batch.enumerated() {
                let row = rows[(offset * classCount)..<((offset + 1) * classCount)]
                if firstMaximum(row) == sample.label { correct += 1 }
            }
            probabilities += rows
            progress?(start + batch.count)
        }
        return ZeroShotPredictions(classCount: classCount, probabilities: probabilities,
                                   targets: dataset.samples.map(\.label), correct: correct, evaluated: dataset.samples.count)
    }

    /// The reference's `--index` file: a JSON list of integers picking prediction rows; negative values count
    /// from the end, as torch indexing does. Returns them within `0..<count`.
    /// - Throws: `ZeroShotError.invalidIndex` naming the file.
    public static func index(contentsOf path: String, count: Int) throws -> [Int] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ZeroShotError.invalidIndex(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ZeroShotError.invalidIndex(path: path, reason: "not UTF-8")
        }
        let value: PythonValue
        do { value = try PythonJSON.parse(text) } catch { throw ZeroShotError.invalidIndex(path: path, reason: error.message) }
        guard case let .list(items) = value else {
            throw ZeroShotError.invalidIndex(path: path, reason: "expected a JSON list of integers, found \(value.typeName)")
        }
        return try items.enumerated().map { position, item in
            guard case let .int(raw) = item else {
                throw ZeroShotError.invalidIndex(path: path, reason: "item \(position) is \(item.pythonRepr), not an integer")
            }
            let wrapped = raw < 0 ? Int(raw) + count : Int(raw)
            guard (0..<count).contains(wrapped) else {
                throw ZeroShotError.invalidIndex(
                    path: path, reason: "item \(position): index \(raw) is out of bounds for \(count) images")
            }
            return wrapped
        }
    }

    /// The reference's result line, `zeroshot-top1: <fraction as Python float repr>`.
    public static func resultLine(top1: Double) -> String { "zeroshot-top1: " + pythonRepr(top1) }
}

/// The index of the first largest value (torch `topk(1)` on distinct values); NaN never wins.
func firstMaximum(_ values: ArraySlice<Float>) -> Int {
    var best = 0, bestValue = -Float.infinity
    for (offset, value) in values.enumerated() where value > bestValue {
        best = offset
        bestValue = value
    }
    return best
}
