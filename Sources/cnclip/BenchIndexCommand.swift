import ArgumentParser
import Demo
import Foundation
import Imaging
import Models
import SearchIndex
import Tensor

/// `cnclip bench index`: indexing images/s against the bare forward pass of the same model, exact-search latency over
/// growing random galleries, and faiss build time, latency and recall@10.
struct IndexBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Indexing img/s vs encode img/s (random weights), exact search latency at 10k/100k/1M rows, ANN build/latency/recall@10.")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Gallery sizes for exact search, ascending, comma-separated (0 rows: skip).")
    var rows = "10000,100000,1000000"

    @Option(name: .long, help: "Feature dimension of the random galleries.")
    var dimension = 512

    @Option(name: .long, help: "Single queries timed per gallery size.")
    var queries = 50

    @Option(name: .customLong("ann-rows"), help: "Gallery size at which HNSW and IVF-Flat are built and measured (0 skips).")
    var annRows = 100_000

    @Option(name: .customLong("ann-kinds"), help: "Approximate indexes to build at --ann-rows, comma-separated.")
    var annKinds = "hnsw,ivf"

    @Option(name: .customLong("index-images"), help: "Images (random PNGs) indexed for the indexing-vs-encode ratio (0 skips).")
    var indexImages = 32

    @Option(name: .customLong("image-batch"), help: "Images per forward pass, for both indexing and encode.")
    var imageBatch = 8

    @Option(name: .customLong("rounds"), help: "Alternating encode/index rounds.")
    var rounds = 2

    @Option(name: .customLong("work-dir"), help: "Where the benchmark indexes are written (removed afterwards).")
    var workDirectory: String?

    func run() throws {
        let work = URL(fileURLWithPath: workDirectory ?? NSTemporaryDirectory()).appendingPathComponent("cnclip-bench-index-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        emit("threads: \(Parallel.threadCount), load average: \(loadAverage())")
        if indexImages > 0 { try benchIndexing(work: work) }
        let sizes = rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }.sorted()
        if !sizes.isEmpty || annRows > 0 { try benchSearch(work: work.appendingPathComponent("gallery"), sizes: sizes) }
    }

    /// Alternates the bare forward pass over preprocessed batches with `ImageIndexer.add` over the same images as files.
    private func benchIndexing(work: URL) throws {
        let clip = try randomWeightModel(model)
        let embedder = CLIPImageEmbedder(model: clip)
        let folder = work.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var state: UInt64 = 5
        var paths: [String] = []
        for image in 0..<indexImages {
            let width = 320, height = 240
            let pixels = (0..<(width * height * 3)).map { i -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: (i / 3 % width + i / (3 * width) + image * 7) / 3 + Int(state >> 60))
            }
            let path = folder.appendingPathComponent(String(format: "%05d.png", image)).path
            try ImagePNG.encode(pixels, width: width, height: height, channels: 3).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let preprocessed = try paths.map { try embedder.preprocessor.tensor(contentsOf: URL(fileURLWithPath: $0)).tensor }
        let resolution = clip.config.imageResolution, plane = 3 * resolution * resolution
        let batches = stride(from: 0, to: paths.count, by: imageBatch).map { start -> Tensor in
            let count = min(imageBatch, paths.count - start)
            let batch = Tensor(zeros: [count, 3, resolution, resolution])
            for i in 0..<count { preprocessed[start + i].contiguous().copyElements(to: batch.storage.pointer + i * plane) }
            return batch
        }
        _ = try embedder.embed(batches[0])  // warm-up
        var encodeRates: [Double] = [], indexRates: [Double] = []
        for round in 0..<rounds {
            var start = DispatchTime.now().uptimeNanoseconds
            for batch in batches { _ = try embedder.embed(batch) }
            encodeRates.append(Double(paths.count) / seconds(since: start))
            let directory = work.appendingPathComponent("index-\(round)")
            let indexer = try ImageIndexer(directory: directory, embedder: embedder, model: benchIdentity(dimension: clip.config.embedDim))
            var options = ImageIndexer.Options()
            options.batchSize = imageBatch
            start = DispatchTime.now().uptimeNanoseconds
            let summary = try indexer.add(paths: [folder.path], options: options)
            indexRates.append(Double(summary.embedded) / seconds(since: start))
            try? FileManager.default.removeItem(at: directory)
        }
        let encode = median(encodeRates), index = median(indexRates)
        emit(String(format: "indexing %@ (%d random %@ PNGs, batch %d): encode %.2f img/s, index add %.2f img/s, ratio %.1f%% (medians of %d alternating rounds)",
                     model.visionModel, paths.count, "320x240", imageBatch, encode, index, 100 * index / encode, rounds))
    }

    /// Grows one random gallery through `sizes`, timing exact search at each, and the approximate indexes at `annRows`.
    private func benchSearch(work: URL, sizes: [Int]) throws {
        let indexer = try ImageIndexer(directory: work, embedder: SyntheticEmbedder(dimension: dimension),
                                       model: benchIdentity(dimension: dimension))
        let reader = try ImageIndex.open(directory: work, readOnly: true)
        var generator = BenchRandom(state: 42)
        let queryVectors = (0..<queries).map { _ in generator.unitVector(dimension) }
        var filled = 0
        let targets = (sizes + (annRows > 0 ? [annRows] : [])).sorted()
        var measuredANN = false
        for target in Set(targets).sorted() {
            while filled < target {
                let chunk = min(65_536, target - filled)
                var values: [Float] = []
                values.reserveCapacity(chunk * dimension)
                for _ in 0..<chunk { values += generator.unitVector(dimension) }
                _ = try indexer.add(precomputed: values, paths: (filled..<(filled + chunk)).map { "/bench/\($0).jpg" })
                filled += chunk
            }
            try reader.reload()
            if sizes.contains(target) {
                let latencies = try queryVectors.map { query -> Double in
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try reader.search(query, k: 10, mode: .exact)
                    return seconds(since: start)
                }
                let batch = Array(queryVectors.prefix(64))
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try reader.search(batch: batch, k: 10, mode: .exact)
                let batchSeconds = seconds(since: start)
                emit(String(format: "exact %7d × %d fp32: single query p50 %.2f ms, p99 %.2f ms; batch of %d: %.2f ms (%.1f queries/s)",
                             target, dimension, 1e3 * percentile(latencies, 0.5), 1e3 * percentile(latencies, 0.99), batch.count,
                             1e3 * batchSeconds, Double(batch.count) / batchSeconds))
            }
            if target == annRows && !measuredANN {
                measuredANN = true
                for kind in try annKinds.split(separator: ",").map({ name in
                    guard let kind = ANNKind(rawValue: String(name)) else { throw ValidationError("unknown ANN kind \(name)") }
                    return kind
                }) {
                    let report = try indexer.buildANN(kind: kind)
                    try reader.reload()
                    let flat = Array(queryVectors.joined())
                    let recall = try reader.recall(queries: flat, k: 10)
                    let latencies = try queryVectors.map { query -> Double in
                        let start = DispatchTime.now().uptimeNanoseconds
                        _ = try reader.search(query, k: 10, mode: .approximate)
                        return seconds(since: start)
                    }
                    for point in report.curve {
                        emit(String(format: "ann %@ %d × %d breadth %d: recall@10 %.3f (midpoints of stored rows as queries), %.3f ms/query",
                                     kind.rawValue, target, dimension, point.breadth, point.recallAt10, point.millisecondsPerQuery))
                    }
                    emit(String(format: "ann %@ %d × %d: build %.1f s; breadth %d (%@): query p50 %.2f ms, p99 %.2f ms, recall@10 %.3f (random queries), %.3f (midpoints of stored rows as queries)",
                                 kind.rawValue, target, dimension, report.seconds, report.breadth, report.tuning.description,
                                 1e3 * percentile(latencies, 0.5), 1e3 * percentile(latencies, 0.99), recall, report.recallAt10))
                }
            }
        }
        emit("peak resident memory: \(peakResidentMegabytes()) MB")
    }

    private func benchIdentity(dimension: Int) -> ModelIdentity {
        ModelIdentity(visionModel: model.visionModel, textModel: model.textModel, configJSON: "{\"bench\":\(dimension)}",
                      checkpointPath: "(random weights)", checkpointHash: String(repeating: "0", count: 64))
    }
}

/// The gallery benchmark adds precomputed features only.
private struct SyntheticEmbedder: ImageEmbedder {
    let dimension: Int
    var preprocessor: ImagePreprocessor { ImagePreprocessor(resolution: 224) }
    func embed(_ images: Tensor) throws -> [Float] { throw ValidationError("the gallery benchmark embeds no images") }
}

/// Random unit vectors (uniform directions via normalised uniform cubes: cheap, and enough for timing and recall).
private struct BenchRandom {
    var state: UInt64
    mutating func unitVector(_ dimension: Int) -> [Float] {
        var values = (0..<dimension).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in values.indices { values[i] /= norm }
        return values
    }
}

/// Prints a result line at once (stdout to a file is otherwise flushed only at exit).
private func emit(_ line: String) {
    print(line)
    fflush(nil)
}

private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

private func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

private func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

private func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
}
