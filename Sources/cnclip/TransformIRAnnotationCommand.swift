import ArgumentParser
import Retrieval

/// `cnclip transform-ir-annotation-to-tr`: the reference's `cn_clip/eval/transform_ir_annotation_to_tr.py`.
struct TransformIRAnnotationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform-ir-annotation-to-tr",
        abstract: "Turn text-to-image ground truth into image-to-text ground truth (<input without .jsonl>.tr.jsonl)."
    )

    @Option(name: .customLong("input"), help: "Input path of the text-to-image JSONL annotation file.")
    var input: String

    func run() throws {
        try AnnotationTransform.run(inputPath: input)
        print("Done!")
    }
}
