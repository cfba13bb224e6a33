import ArgumentParser
import Dataset
import Foundation

/// `cnclip build-lmdb`: the reference's `cn_clip/preprocess/build_lmdb_dataset.py`.
struct BuildLMDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-lmdb",
        abstract: "Serialise ${split}_imgs.tsv and ${split}_texts.jsonl into <lmdb_dir>/<split>/{imgs,pairs} LMDB files.",
        discussion: """
            Writes the same records as the reference (pickled pairs, count keys, commit cadence, 1 TiB map size). \
            Stops at the first bad line (naming file and line), rejects duplicated image ids, and replaces a split's \
            directory only once its new LMDB files are complete.
            """
    )

    @Option(name: .customLong("data_dir"), help: "Directory holding the image TSV files and the text JSONL annotations.")
    var dataDirectory: String

    @Option(name: .customLong("splits"), help: "Comma-separated dataset splits, e.g. train,valid,test.")
    var splits: String

    @Option(name: .customLong("lmdb_dir"), help: "Output directory (default: <data_dir>/lmdb).")
    var lmdbDirectory: String?

    func run() throws {
        let builder = LMDBBuilder(dataDirectory: dataDirectory, lmdbDirectory: lmdbDirectory,
                                  report: { print($0) },
                                  progress: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        try builder.build(splits: LMDBBuilder.splitNames(splits))
    }
}
