import ArgumentParser
import Distributed
import Foundation
import Models
import SearchIndex

/// `cnclip index add --index DIR [model flags] --resume CKPT PATH…`: embeds new and changed images into the index.
struct IndexAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add image files and folders (recursively), an LMDB imgs split or an imgs TSV to an index; only new and changed images are embedded.",
        discussion: """
            Under `mpirun -np N` the ranks share the reading and embedding: rank 0 lists the work and hands out \
            chunks of --batch-size images, every rank (rank 0 included) embeds its chunk, and rank 0 commits each \
            round in order, so the index holds the same rows as one process would write. Image files must be \
            readable at the same paths on every rank.
            """)

    @OptionGroup var location: IndexLocation
    @OptionGroup var model: ModelOptions
    @OptionGroup var checkpoint: CheckpointOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .long, help: "An LMDB `imgs` database folder to add by image id.")
    var lmdb: String?

    @Option(name: .long, help: "A `{split}_imgs.tsv` file to add by image id.")
    var tsv: String?

    @Option(name: .customLong("batch-size"), help: "Images per forward pass and per commit.")
    var batchSize = 32

    @Flag(name: .long, help: "Drop records of files under the given folders that no longer exist.")
    var prune = false

    @Flag(name: .long, help: "Store features as fp16 (only when the index is created).")
    var fp16 = false

    @Option(name: .long, help: "Build or update an approximate index: hnsw or ivf (automatic, hnsw, from 1M rows).")
    var ann: ANNKind?

    @Flag(name: .long, help: "Exit non-zero when any image could not be indexed.")
    var strict = false

    @Argument(help: "Image files and folders.")
    var paths: [String] = []

    func validate() throws {
        guard !paths.isEmpty || lmdb != nil || tsv != nil else { throw ValidationError("give PATHs, --lmdb or --tsv") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let group = try ProcessGroup.join()
        try ProcessGroup.run(group) { try run(group: group) }
    }

    /// Under `mpirun -np N` every rank loads the model and embeds its share (see `ImageIndexer.runSharded`); rank 0
    /// alone opens the index, prints and writes.
    private func run(group: Communicator) throws {
        let config = try model.config(checkpoint: checkpoint.resume)
        let loaded = try loadModel(config: config, checkpoint: checkpoint.url(), precision: precision.precision)
        let embedder = CLIPImageEmbedder(loaded)
        guard group.isPrimary else { return try IndexShardWorker(embedder: embedder, group: group).serve() }
        let identity = try indexModelIdentity(model, config: config, checkpoint: checkpoint.url())
        let indexer = try ImageIndexer(directory: location.url, embedder: embedder, model: identity,
                                       dtype: fp16 ? .float16 : .float32)
        let display = ProgressDisplay()
        indexer.progress = display.update
        indexer.log = { line in
            display.clearLine()
            printToStandardError(line)
        }
        var options = ImageIndexer.Options()
        options.batchSize = batchSize
        options.prune = prune
        options.ann = ann
        options.shards = group
        var summaries: [ImageIndexer.Summary] = []
        if !paths.isEmpty { summaries.append(try indexer.add(paths: paths, options: options)) }
        if let lmdb { summaries.append(try indexer.add(lmdbImages: lmdb, options: options)) }
        if let tsv { summaries.append(try indexer.add(tsv: tsv, options: options)) }
        if group.isDistributed { try IndexShardWorker(embedder: embedder, group: group).finish() }
        display.finish()
        var total = ImageIndexer.Summary()
        for summary in summaries {
            total.found += summary.found
            total.unchanged += summary.unchanged
            total.embedded += summary.embedded
            total.touched += summary.touched
            total.failed += summary.failed
            total.pruned += summary.pruned
            total.ann = summary.ann ?? total.ann
            if let shares = summary.shares {
                total.shares = zip(total.shares ?? Array(repeating: 0, count: shares.count), shares).map { $0 + $1 }
            }
        }
        printToStandardError("\(total.found) found, \(total.embedded) embedded, \(total.unchanged) unchanged, "
                             + "\(total.touched) re-stamped, \(total.failed.count) failed, \(total.pruned) pruned"
                             + (total.ann.map { String(format: "; %@ recall@10 %.4f", $0.kind.rawValue, $0.recallAt10) } ?? ""))
        print(try jsonLine(total))
        if strict && !total.failed.isEmpty { throw ExitCode(3) }
    }
}

/// The identity an index records for the model flags: names, the merged config as sorted-key JSON, checkpoint hash.
func indexModelIdentity(_ model: ModelOptions, config: ModelConfig, checkpoint: URL) throws -> ModelIdentity {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try ImageIndexer.identity(visionModel: model.visionModel, textModel: model.textModel,
                                     configJSON: String(decoding: try encoder.encode(config), as: UTF8.self),
                                     checkpoint: HFModelDirectory.isDirectory(checkpoint)
                                         ? try HFModelDirectory.weightsFile(in: checkpoint) : checkpoint)
}

/// Progress of `index add` on stderr: a redrawn bar on a terminal, a plain line every 10 s otherwise.
final class ProgressDisplay {
    private let terminal = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last: UInt64 = 0
    private var drawn = false
    private var done = 0
    private var total = 0

    func update(done: Int, total: Int) {
        self.done = done
        self.total = total
        let now = DispatchTime.now().uptimeNanoseconds
        let interval: UInt64 = terminal ? 200_000_000 : 10_000_000_000
        guard now - last >= interval || (done == total && terminal) else { return }
        last = now
        draw(now: now)
    }

    func clearLine() {
        if terminal && drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }

    func finish() {
        guard total > 0 else { return }
        draw(now: DispatchTime.now().uptimeNanoseconds)
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    private func draw(now: UInt64) {
        let seconds = max(Double(now - start) / 1e9, 1e-9)
        let rate = Double(done) / seconds
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let etaText = String(format: "%d:%02d", Int(eta) / 60, Int(eta) % 60)
        let counts = total > 0 ? "\(done)/\(total)" : "\(done)"
        if terminal {
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = String(format: "\r\u{1B}[K%@ %@ %.1f img/s ETA %@", bar, counts, rate, etaText)
            FileHandle.standardError.write(Data(line.utf8))
            drawn = true
        } else {
            printToStandardError(String(format: "index: %@ images, %.1f img/s, ETA %@", counts, rate, etaText))
        }
    }
}
