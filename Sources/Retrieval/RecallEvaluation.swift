import Dataset
import Foundation

/// Which of the reference's two evaluation scripts to reproduce.
public enum RetrievalDirection: Sendable {
    /// `evaluation.py`: queries are texts (`text_id`), predictions are `image_ids`.
    case textToImage
    /// `evaluation_tr.py`: queries are images (`image_id`), predictions are `text_ids`.
    case imageToText

    var queryKey: String { self == .textToImage ? "text_id" : "image_id" }
    var predictionKey: String { self == .textToImage ? "image_ids" : "text_ids" }
    var predictionItem: String { self == .textToImage ? "image_id" : "text_id" }
    var queryName: String { self == .textToImage ? "Text_id" : "Image_id" }
    var predictedKind: String { self == .textToImage ? "images" : "texts" }
}

/// The result of `evaluation.py` / `evaluation_tr.py`: Recall@1/5/10 over the ground-truth queries, or the
/// reason the submission was rejected (`e.args[0]`: a message, or an errno for an unreadable ground-truth file).
public enum RecallEvaluation: Equatable, Sendable {
    case success(r1: Double, r5: Double, r10: Double)
    case failure(PythonValue)

    /// Number of predictions each query must have.
    public static let topK = 10

    /// Evaluates `predictionPath` against `groundTruthPath` exactly as the reference script does, with its checks
    /// in its order and its messages (including the stale `qid` of `evaluation.py`'s invalid-id message).
    public static func evaluate(groundTruthPath: String, predictionPath: String,
                                direction: RetrievalDirection) -> RecallEvaluation {
        do throws(PythonException) {
            let reference = try readGroundTruth(groundTruthPath, direction)
            let predictions = try readSubmission(predictionPath, reference: reference, direction)
            var hits = (r1: 0, r5: 0, r10: 0)
            for (query, truth) in reference.entries {
                var members = PythonSet()
                for item in try truth.iterated() {
                    try item.requireHashable()
                    members.add(item)
                }
                guard case let .list(ranked)? = predictions[query] else { continue }
                let truthMembers = members.members
                if truthMembers.contains(where: { ranked.prefix(1).contains($0) }) { hits.r1 += 1 }
                if truthMembers.contains(where: { ranked.prefix(5).contains($0) }) { hits.r5 += 1 }
                if truthMembers.contains(where: { ranked.prefix(10).contains($0) }) { hits.r10 += 1 }
            }
            guard reference.count > 0 else { throw PythonException("float division by zero") }
            let count = Double(reference.count)
            return .success(r1: Double(hits.r1) * 1.0 / count, r5: Double(hits.r5) * 1.0 / count,
                            r10: Double(hits.r10) * 1.0 / count)
        } catch {
            return .failure(error.argument)
        }
    }

    private static func readGroundTruth(_ path: String, _ direction: RetrievalDirection) throws(PythonException) -> PythonDict {
        var reference = PythonDict()
        for line in try pythonStrippedLines(ofFile: path) {
            let object: PythonValue
            do { object = try PythonJSON.parse(line) } catch { throw PythonException(error.message) }
            // `reference[obj[query]] = obj[predictions]`: Python evaluates the right-hand side first.
            let value = try object.subscripted(direction.predictionKey)
            let key = try object.subscripted(direction.queryKey)
            try key.requireHashable()
            reference.set(key, value)
        }
        return reference
    }

    private static func readSubmission(_ path: String, reference: PythonDict,
                                       _ direction: RetrievalDirection) throws(PythonException) -> PythonDict {
        guard pathExists(path) else { throw PythonException("The submission file is not found!") }
        let queryKey = direction.queryKey, predictionKey = direction.predictionKey, name = direction.queryName
        var submission = PythonDict()
        var previousQuery: PythonValue?
        for line in try pythonStrippedLines(ofFile: path) {
            let object: PythonValue
            do { object = try PythonJSON.parse(line) } catch {
                throw PythonException("Cannot parse this line into json object: \(line)")
            }
            guard try object.containsMember(queryKey) else {
                throw PythonException("There exists one line not containing \(queryKey): \(line)")
            }
            let query = try object.subscripted(queryKey)
            guard query.isPythonInt else {
                throw PythonException(invalidQueryMessage(query: query, previous: previousQuery, direction))
            }
            previousQuery = query
            guard try object.containsMember(predictionKey) else {
                throw PythonException("There exists one line not containing the predicted \(predictionKey): \(line)")
            }
            guard case let .list(ranked) = try object.subscripted(predictionKey) else {
                throw PythonException("The \(predictionKey) field of \(queryKey) \(query.pythonStr) is not a list, please check your schema")
            }
            guard ranked.count == topK else {
                throw PythonException("\(name) \(query.pythonStr) has wrong number of predicted \(predictionKey)! Require \(topK), but \(ranked.count) founded.")
            }
            for (rank, item) in ranked.enumerated() where !item.isPythonInt {
                throw PythonException("\(name) \(query.pythonStr) has an invalid predicted \(direction.predictionItem) \(item.pythonStr) at rank \(rank + 1), it should be an integer (not string), please check your schema")
            }
            guard PythonSet(ranked).count == topK else {
                throw PythonException("\(name) \(query.pythonStr) has duplicate topk \(direction.predictedKind) in your prediction. Pleace check again!")
            }
            submission.set(query, .list(ranked))
        }
        let missing = PythonSet(reference.entries.map(\.key))
            .subtracting(PythonSet(submission.entries.map(\.key))).members
        if !missing.isEmpty {
            throw PythonException("The following \(queryKey)s have no prediction in your submission, please check again: "
                                  + missing.map(\.pythonStr).joined(separator: ", "))
        }
        return submission
    }

    /// `evaluation.py` formats the previous line's id (or fails on the first line); `evaluation_tr.py` the offending one.
    private static func invalidQueryMessage(query: PythonValue, previous: PythonValue?, _ direction: RetrievalDirection) -> String {
        let shown: String
        switch direction {
        case .imageToText: shown = query.pythonStr
        case .textToImage:
            guard let previous else { return "cannot access local variable 'qid' where it is not associated with a value" }
            shown = previous.pythonStr
        }
        return "Found an invalid \(direction.queryKey) \(shown), it should be an integer (not string), please check your schema"
    }

    /// The output file's content as the reference's `json.dump` writes it (no trailing newline).
    public var outputJSON: String {
        var object = PythonDict()
        switch self {
        case let .success(r1, r5, r10):
            let mean = (r1 + r5 + r10) / 3.0
            var scores = PythonDict()
            scores.set(.string("score"), .float(mean * 100))
            scores.set(.string("mean_recall"), .float(mean * 100))
            scores.set(.string("r1"), .float(r1 * 100))
            scores.set(.string("r5"), .float(r5 * 100))
            scores.set(.string("r10"), .float(r10 * 100))
            object.set(.string("success"), .bool(true))
            object.set(.string("score"), .float(mean * 100))
            object.set(.string("scoreJson"), .dict(scores))
        case let .failure(detail):
            object.set(.string("errorDetail"), detail)
            object.set(.string("errorMsg"), detail)
            object.set(.string("score"), .int(0))
            object.set(.string("scoreJson"), .dict(PythonDict()))
            object.set(.string("success"), .bool(false))
        }
        return PythonValue.dict(object).jsonDumps
    }

    /// The script's last stdout line.
    public var summaryLine: String {
        switch self {
        case .success: return "The evaluation finished successfully."
        case let .failure(detail): return "The evaluation failed: \(detail.pythonStr)"
        }
    }

    /// Runs the whole script: the two `Read …` lines, the evaluation, the output file (written atomically), and
    /// the summary line, each passed to `print`. Throws only when the output cannot be written.
    @discardableResult
    public static func run(groundTruthPath: String, predictionPath: String, outputPath: String,
                           direction: RetrievalDirection, print: (String) -> Void) throws(DatasetError) -> RecallEvaluation {
        print("Read standard from \(groundTruthPath)")
        print("Read user submit file from \(predictionPath)")
        let result = evaluate(groundTruthPath: groundTruthPath, predictionPath: predictionPath, direction: direction)
        try AtomicFile.write(Data(result.outputJSON.utf8), to: outputPath)
        print(result.summaryLine)
        return result
    }
}
