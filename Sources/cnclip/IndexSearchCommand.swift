import ArgumentParser
import Foundation
import Models
import SearchIndex
import Tensor
import Tokenizer

/// `cnclip index search --index DIR [model flags] --resume CKPT (--text T | --image FILE)`: one ranked list as JSON lines.
struct IndexSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search an index by text or by an example image; prints one JSON hit per line.")

    @OptionGroup var location: IndexLocation
    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .long, help: "A text query (Chinese).")
    var text: String?

    @Option(name: .long, help: "An image file to find similar images to.")
    var image: String?

    @Option(name: .customLong("context-length"), help: "Token context length of text queries.")
    var contextLength = 52

    @Option(name: .long, help: "Results to print.")
    var k = 10

    @Option(name: .long, help: "Results to skip first (paging).")
    var offset = 0

    @Option(name: .long, help: "Only scores at least this.")
    var threshold: Float?

    @Flag(name: .long, help: "Exact search even when an approximate index is built.")
    var exact = false

    func validate() throws {
        guard (text == nil) != (image == nil) else { throw ValidationError("give exactly one of --text and --image") }
        guard k >= 0, offset >= 0 else { throw ValidationError("--k and --offset must be ≥ 0") }
    }

    func run() throws {
        let index = try ImageIndex.open(directory: location.url, readOnly: true)
        let config = try model.config(checkpoint: checkpoint.resume)
        try index.check(model: try indexModelIdentity(model, config: config, checkpoint: checkpoint.url()))
        let loaded = try loadModel(config: config, checkpoint: checkpoint.url(), precision: precision.precision)
        let query: Tensor
        if let text {
            query = try loaded.model.encodeText(loaded.tokenizer.tokenize([preprocessText(text)], contextLength: contextLength))
        } else {
            query = try loaded.model.encodeImage(loadImageBatch([image!], preprocessor: loaded.preprocessor, order: .resizeThenConvert))
        }
        let hits = try index.search(l2Normalize(query).output.toArray(), k: k, threshold: threshold, offset: offset,
                                    mode: exact ? .exact : .automatic)
        for hit in hits { print(try jsonLine(hit)) }
    }
}
