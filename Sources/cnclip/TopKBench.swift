import ArgumentParser
import Foundation
import Retrieval
import Tensor

/// `cnclip bench topk`: queries/s of `make-topk-predictions`' search engine (blocked GEMM + per-query heaps) over a
/// generated gallery that is streamed in blocks from a prefetching thread, as the command streams its file.
struct TopKBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topk",
        abstract: "Queries/s and peak RSS of exact top-k search over a generated gallery (or write it as feature files).",
        discussion: """
            Row r of the gallery and of the queries comes from a generator seeded by r, so --write-features DIR \
            writes the very data the timing uses: DIR/bench.img_feat.jsonl (gallery) and DIR/bench.txt_feat.jsonl \
            (queries), for Scripts/bench/compare-topk.sh.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "Gallery size (image features).")
    var images = 30_000

    @Option(name: .long, help: "Query count (text features).")
    var texts = 5_000

    @Option(name: .long, help: "Feature dimension.")
    var dim = 512

    @Option(name: .customLong("top-k"), help: "Predictions per query.")
    var topK = 10

    @Option(name: .customLong("eval-batch-size"), help: "Gallery rows per block.")
    var evalBatchSize = 32_768

    @Option(name: .long, help: "fp32 peak in GFLOP/s for the fraction column (default: read from this CPU).")
    var peak: Double?

    @Option(name: .customLong("write-features"), help: "Write the generated features into this directory instead of timing.")
    var writeFeatures: String?

    func validate() throws {
        guard images > 0, texts > 0, dim > 0, topK >= 0, evalBatchSize > 0 else {
            throw ValidationError("--images, --texts, --dim and --eval-batch-size must be positive, --top-k not negative")
        }
    }

    func run() throws {
        options.applyThreads()
        if let directory = writeFeatures {
            try write(rows: images, seedOffset: 0, kind: .image, to: directory + "/bench.img_feat.jsonl")
            try write(rows: texts, seedOffset: 1 << 40, kind: .text, to: directory + "/bench.txt_feat.jsonl")
            return
        }
        let queries = generatedRows(0..<texts, seedOffset: 1 << 40, dimension: dim)
        let blockRows = min(evalBatchSize, TopKPredictions.maximumBlockRows)
        let (images, dim, topK) = (self.images, self.dim, self.topK)
        let seconds = try time(options) {
            let search = try ExactTopKSearch(queries: queries, dimension: dim, k: topK)
            let blocks = Prefetcher<GeneratedBlock>(capacity: 2) { emit in
                for start in stride(from: 0, to: images, by: blockRows) {
                    let rows = min(blockRows, images - start)
                    var values = generatedRows(start..<(start + rows), seedOffset: 0, dimension: dim)
                    values += [Float](repeating: 0, count: (blockRows - rows) * dim)
                    guard emit(GeneratedBlock(tensor: try Tensor(shape: [blockRows, dim], data: values), rows: rows)) else { return }
                }
            }
            while let block = try blocks.next() { try search.add(block: block.tensor, validRows: block.rows) }
            _ = search.results()
        }
        let measurement = Measurement(bench: "topk k=\(topK)", shape: "\(texts)x\(images)x\(dim)", seconds: seconds,
                                      flops: 2 * Double(texts) * Double(images) * Double(dim), bytes: nil,
                                      items: Double(texts))
        report([measurement], options: options, peakGFLOPS: machinePeak(peak))
        if !options.json {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print(String(format: "queries/s: %.1f (median %.3f s for %d queries over %d gallery rows), peak RSS: %.1f MiB",
                         Double(texts) / measurement.median, measurement.median, texts, images,
                         Double(usage.ru_maxrss) / 1024))
        }
    }

    private func write(rows: Int, seedOffset: UInt64, kind: FeatureRecord.Kind, to path: String) throws {
        let writer = try FeatureJSONLWriter(path: path, kind: kind)
        for row in 0..<rows {
            try writer.write(FeatureRecord(id: Int64(row + 1), feature: generatedRows(row..<(row + 1), seedOffset: seedOffset,
                                                                                     dimension: dim)))
        }
        try writer.finish()
        print("wrote \(rows) \(kind == .image ? "image" : "text") features to \(path)")
    }
}

/// A generated gallery block: `rows` valid rows at the top of a full-size tensor.
private struct GeneratedBlock: Sendable {
    let tensor: Tensor
    let rows: Int
}

/// Rows of pseudo-random values in [-1, 1) with 23-bit resolution; row r depends only on r + seedOffset.
private func generatedRows(_ rows: Range<Int>, seedOffset: UInt64, dimension: Int) -> [Float] {
    var values: [Float] = []
    values.reserveCapacity(rows.count * dimension)
    for row in rows {
        var state = (UInt64(row) &+ seedOffset) &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        for _ in 0..<dimension {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Float(state >> 41) / Float(1 << 22) - 1)
        }
    }
    return values
}
