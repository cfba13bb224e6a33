import ArgumentParser
import Foundation
import Tokenizer

/// `cnclip tokenize`: the reference's `tokenize` on texts from the command line or stdin.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of each text as a JSON array, padded with zeros to the context length.",
        discussion: """
            Texts come from the arguments (after `--` they may start with `-`), or, with none, from stdin, one per \
            line (lines end at \\n only). Texts are tokenized raw, as the reference's `tokenize` does.
            """
    )

    @Option(name: .customLong("context-length"), help: "Length of each row: [CLS], ids, [SEP], zero padding.")
    var contextLength: Int = Tokenizer.defaultContextLength

    @Argument(help: "Texts to tokenize; none: read stdin.")
    var texts: [String] = []

    func run() throws {
        let tokenizer = try Tokenizer.bundled()
        let inputs = texts.isEmpty
            ? try TextLines.split(FileHandle.standardInput.readDataToEndOfFile(), source: "<stdin>")
            : texts
        var output = ""
        for (index, text) in inputs.enumerated() {
            output += TextLines.jsonArray(try tokenizer.tokenize(text, contextLength: contextLength))
            output += "\n"
            if output.utf8.count >= 1 << 16 || index == inputs.count - 1 {
                FileHandle.standardOutput.write(Data(output.utf8))
                output.removeAll(keepingCapacity: true)
            }
        }
    }
}
