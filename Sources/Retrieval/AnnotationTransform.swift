import Dataset
import Foundation

/// `transform_ir_annotation_to_tr.py`: turns text→image ground truth (`{text_id, image_ids}` lines) into
/// image→text ground truth (`{image_id, text_ids}` lines), images in order of first appearance, text ids in
/// appearance order with repeats kept.
public enum AnnotationTransform {
    /// Where the reference writes the result: the input path with every `.jsonl` removed, plus `.tr.jsonl`.
    public static func outputPath(forInput input: String) -> String {
        input.replacingOccurrences(of: ".jsonl", with: "") + ".tr.jsonl"
    }

    /// The output file's content for the input file's content; errors name the file and line.
    public static func transform(inputPath: String) throws(DatasetError) -> String {
        let reader = try TextLineReader(path: inputPath)
        var imageToTexts = PythonDict()
        while let line = try reader.nextString() {
            do throws(PythonException) {
                let object: PythonValue
                do { object = try PythonJSON.parse(line.pythonStripped) } catch { throw PythonException(error.message) }
                let textId = try object.subscripted("text_id")
                for imageId in try object.subscripted("image_ids").iterated() {
                    try imageId.requireHashable()
                    var texts: [PythonValue] = []
                    if case let .list(existing)? = imageToTexts[imageId] { texts = existing }
                    texts.append(textId)
                    imageToTexts.set(imageId, .list(texts))
                }
            } catch {
                let reason = error.isKeyError ? "missing field \"\(error.argument.pythonStr)\"" : error.argument.pythonStr
                throw DatasetError.malformedLine(file: inputPath, line: reader.lineNumber, reason: reason)
            }
        }
        var output = ""
        for (imageId, textIds) in imageToTexts.entries {
            var object = PythonDict()
            object.set(.string("image_id"), imageId)
            object.set(.string("text_ids"), textIds)
            output += PythonValue.dict(object).jsonDumps + "\n"
        }
        return output
    }

    /// Transforms `inputPath` and writes the result atomically to `outputPath(forInput:)`; returns that path.
    @discardableResult
    public static func run(inputPath: String) throws(DatasetError) -> String {
        let output = try transform(inputPath: inputPath)
        let path = outputPath(forInput: inputPath)
        try AtomicFile.write(Data(output.utf8), to: path)
        return path
    }
}
