import ArgumentParser
import Foundation
import SearchIndex

/// `cnclip index …`: build and inspect an on-disk image index (see SearchIndex's `ImageIndex`).
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index a folder of images for search: add, remove, status, search, build-ann.",
        subcommands: [IndexAddCommand.self, IndexRemoveCommand.self, IndexStatusCommand.self, IndexSearchCommand.self,
                      IndexBuildANNCommand.self]
    )
}

/// The `--index DIR` option.
struct IndexLocation: ParsableArguments {
    @Option(name: .long, help: "The index directory (index.sqlite, features.f32/.f16, ann.faiss).")
    var index: String

    var url: URL { URL(fileURLWithPath: index) }
}

extension ANNKind: ExpressibleByArgument {}

/// `cnclip index remove --index DIR PATH…`.
struct IndexRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove images (files, or everything under folders) from the index.")

    @OptionGroup var location: IndexLocation

    @Argument(help: "Files or folders to remove (they need not exist any more).")
    var paths: [String]

    func run() throws {
        let removed = try ImageIndexer(existing: location.url).remove(paths: paths)
        print(#"{"removed": \#(removed)}"#)
    }
}

/// `cnclip index build-ann --index DIR --kind hnsw|ivf`.
struct IndexBuildANNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-ann", abstract: "Build (or rebuild) the faiss approximate index and report its recall@10 against exact search.")

    @OptionGroup var location: IndexLocation

    @Option(name: .long, help: "hnsw or ivf.")
    var kind: ANNKind = .hnsw

    @Option(name: .customLong("target-recall"),
            help: "Use the narrowest search breadth (HNSW efSearch, IVF nprobe) whose recall@10 against exact search reaches this (default 0.95, or what the index recorded).")
    var targetRecall: Double?

    @Option(name: .long, help: "Use this search breadth (HNSW efSearch, IVF nprobe) instead of tuning one.")
    var breadth: Int?

    func validate() throws {
        guard targetRecall == nil || breadth == nil else { throw ValidationError("give --target-recall or --breadth, not both") }
        if let targetRecall, !(targetRecall > 0 && targetRecall <= 1) { throw ValidationError("--target-recall must be within (0, 1]") }
        if let breadth, breadth < 1 { throw ValidationError("--breadth must be positive") }
    }

    func run() throws {
        let tuning = breadth.map(ANNTuning.breadth) ?? targetRecall.map(ANNTuning.targetRecall)
        let report = try ImageIndexer(existing: location.url).buildANN(kind: kind, tuning: tuning)
        for point in report.curve {
            printToStandardError(String(format: "  breadth %5d: recall@10 %.4f, %.3f ms/query", point.breadth, point.recallAt10,
                                        point.millisecondsPerQuery))
        }
        printToStandardError(String(format: "%@ over %d rows in %.2f s; breadth %d (%@): recall@10 %.4f (%d midpoints of stored rows as queries)",
                                    report.kind.rawValue, report.rows, report.seconds, report.breadth, report.tuning.description,
                                    report.recallAt10, report.recallQueries))
        print(try jsonLine(report))
    }
}

/// `cnclip index status --index DIR`.
struct IndexStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Counts, model, size on disk and vanished files of an index.")

    @OptionGroup var location: IndexLocation

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let index = try ImageIndex.open(directory: location.url, readOnly: true)
        let info = index.info
        let vanished = try index.vanishedPaths()
        if json {
            struct Status: Encodable {
                let info: IndexInfo
                let vanished: [String]
            }
            print(try jsonLine(Status(info: info, vanished: vanished)))
            return
        }
        print("index:     \(info.directory)")
        print("model:     \(info.model.summary)")
        print("images:    \(info.count) (\(info.rows - info.count) removed rows kept as tombstones)")
        print("features:  \(info.dimension) × \(info.dtype.rawValue)")
        print(String(format: "on disk:   %.1f MB", Double(info.bytesOnDisk) / 1e6))
        if let ann = info.ann {
            print("ann:       \(ann.kind.rawValue) over \(ann.rows) rows (\(ann.bytes) bytes)")
        } else {
            print("ann:       none (exact search)")
        }
        print("vanished:  \(vanished.count)\(vanished.isEmpty ? "" : " (drop with `index add --prune`)")")
        for path in vanished { print("  \(path)") }
    }
}

/// One line of JSON with sorted keys.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
