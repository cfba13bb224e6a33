import ArgumentParser
import Foundation
import Tensor

/// `cnclip bench …`: micro-benchmarks of the tensor engine, as a readable table or JSON lines.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure GEMM, kernels, the towers, a training step and top-k search (tables, or JSON lines with --json).",
        subcommands: [GemmBench.self, KernelsBench.self, EncodeBench.self, TrainBench.self, TopKBench.self, IndexBench.self,
                      ServeGalleryBench.self, QualityBench.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object per measurement instead of a table.")
    var json = false

    @Option(name: .long, help: "Timed repetitions per measurement (after warm-up).")
    var repetitions = 10

    @Option(name: .long, help: "Untimed warm-up runs per measurement.")
    var warmup = 2

    @Option(name: .long, help: "Threads for kernels and OpenBLAS (sets CNCLIP_NUM_THREADS; default: all cores).")
    var threads: Int?

    func validate() throws {
        guard repetitions > 0, warmup >= 0 else { throw ValidationError("--repetitions must be > 0 and --warmup >= 0") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
    }

    /// Hands `--threads` to the engine; must run before the first tensor operation reads the thread count.
    func applyThreads() {
        if let threads { setenv("CNCLIP_NUM_THREADS", String(threads), 1) }
    }
}

/// One timed measurement.
struct Measurement {
    let bench: String
    let shape: String
    let seconds: [Double]
    /// Floating-point operations per run (GEMMs) or nil.
    let flops: Double?
    /// Bytes read and written per run (memory-bound kernels) or nil.
    let bytes: Double?
    /// Elements processed per run.
    let items: Double

    var median: Double { seconds.sorted()[seconds.count / 2] }
    var best: Double { seconds.min() ?? .nan }
    var gflops: Double? { flops.map { $0 / median / 1e9 } }
    var gigabytesPerSecond: Double? { bytes.map { $0 / median / 1e9 } }
}

/// Runs `body` `warmup` times untimed, then `repetitions` times timed (wall clock, monotonic).
func time(_ options: BenchOptions, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<options.warmup { try body() }
    var seconds: [Double] = []
    for _ in 0..<options.repetitions {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return seconds
}

/// Deterministic pseudo-random values in [-1, 1) (benchmarks need no statistics, only non-trivial data).
func benchTensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let values = (0..<shape.reduce(1, *)).map { _ -> Float in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 23) - 1
    }
    return try Tensor(shape: shape, data: values)
}

/// Prints measurements as a table, or as JSON lines with `--json`.
func report(_ measurements: [Measurement], options: BenchOptions, peakGFLOPS: Double? = nil) {
    if options.json {
        for m in measurements {
            var object: [String: Any] = ["bench": m.bench, "shape": m.shape, "seconds": m.median,
                                         "seconds_min": m.best, "items_per_s": m.items / m.median,
                                         "threads": Parallel.threadCount, "repetitions": m.seconds.count]
            if let gflops = m.gflops { object["gflops"] = gflops }
            if let gbs = m.gigabytesPerSecond { object["gb_per_s"] = gbs }
            if let peakGFLOPS, let gflops = m.gflops { object["peak_fraction"] = gflops / peakGFLOPS }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
               let line = String(data: data, encoding: .utf8) {
                print(line)
            }
        }
        return
    }
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        .joined(separator: " ") ?? "unknown"
    print("threads: \(Parallel.threadCount) (large GEMMs split across them), repetitions: \(options.repetitions), "
        + "warm-up: \(options.warmup), load average: \(load)")
    print(engineDescription(nil))
    let rateHeader = peakGFLOPS == nil ? "GB/s" : "GFLOP/s"
    let nameWidth = max(19, (measurements.map(\.bench.count).max() ?? 0) + 2)
    var header = pad("bench", nameWidth) + pad("shape", 20) + pad("min ms", 10, right: true) + pad("median ms", 11, right: true)
        + pad(rateHeader, 10, right: true) + pad("best", 9, right: true)
    if peakGFLOPS != nil { header += pad("of peak", 9, right: true) }
    print(header)
    print(String(repeating: "-", count: header.count))
    for m in measurements {
        let rate = m.gflops ?? m.gigabytesPerSecond ?? 0
        let bestRate = rate * m.median / m.best
        var line = pad(m.bench, nameWidth) + pad(m.shape, 20) + pad(format(m.best * 1e3), 10, right: true)
            + pad(format(m.median * 1e3), 11, right: true) + pad(format(rate, digits: 1), 10, right: true)
            + pad(format(bestRate, digits: 1), 9, right: true)
        if let peakGFLOPS { line += pad(format(100 * rate / peakGFLOPS, digits: 1) + "%", 9, right: true) }
        print(line)
    }
    if let peakGFLOPS {
        let cpu = CPUInfo.current
        print("GFLOP/s from the median time, best from the minimum; peak = \(format(peakGFLOPS, digits: 0)) GFLOP/s fp32 "
              + "(\(cpu.modelName), \(cpu.vectorISA), \(format(cpu.megahertz, digits: 0)) MHz × "
              + "\(format(cpu.fp32FlopsPerCycle, digits: 0)) FLOP/cycle × \(Parallel.threadCount) threads).")
    } else {
        print("GB/s = bytes read + written per run / median time; best from the minimum.")
    }
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

private func format(_ value: Double, digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

/// `cnclip bench gemm`: GFLOP/s of the ViT-B/16 and BERT-base GEMMs against the fp32 peak.
struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GFLOP/s of x·Wᵀ for the GEMM shapes of ViT-B/16 and BERT-base (52 tokens).")

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "fp32 peak in GFLOP/s for the fraction column (default: read from this CPU).")
    var peak: Double?

    /// (label, M, K, N): ViT-B/16 at batch 1 and 8 (197 tokens), BERT-base at 52 tokens, batch 1 and 32.
    static let shapes: [(String, Int, Int, Int)] = [
        ("vit qkv b1", 197, 768, 2304), ("vit mlp b1", 197, 768, 3072), ("vit mlp b8", 1576, 768, 3072),
        ("bert mlp b1", 52, 768, 3072), ("bert mlp b32", 1664, 768, 3072),
    ]

    func run() throws {
        options.applyThreads()
        var measurements: [Measurement] = []
        for (label, m, k, n) in Self.shapes {
            let x = try benchTensor([m, k], seed: 1), weight = try benchTensor([n, k], seed: 2)
            let output = Tensor(zeros: [m, n])
            let seconds = try time(options) { try matmul(x, weight, transposeB: true, into: output) }
            measurements.append(Measurement(bench: "gemm \(label)", shape: "\(m)x\(k)x\(n)", seconds: seconds,
                                            flops: 2 * Double(m * k * n), bytes: nil, items: Double(m * n)))
        }
        report(measurements, options: options, peakGFLOPS: machinePeak(peak))
    }
}

/// `given`, else this CPU's fp32 peak over the threads the benchmark uses (`CPUInfo`).
func machinePeak(_ given: Double?) -> Double {
    given ?? CPUInfo.current.fp32PeakGFLOPS(cores: Parallel.threadCount)
}

/// `cnclip bench kernels`: GB/s of layer norm, softmax and the activations on ViT-B/16 activation sizes.
struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "GB/s of layer norm, softmax, GELU and friends on ViT-B/16 activation sizes.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        options.applyThreads()
        let hidden = try benchTensor([8, 197, 768], seed: 3), scores = try benchTensor([8, 12, 197, 197], seed: 4)
        let wide = try benchTensor([8, 197, 3072], seed: 5)
        let weight = try benchTensor([768], seed: 6), bias = try benchTensor([768], seed: 7)
        let wideBias = try benchTensor([3072], seed: 8)
        let probabilities = try softmax(lastAxisOf: scores)
        let normalised = try layerNorm(hidden, weight: weight, bias: bias, eps: 1e-5)
        var measurements: [Measurement] = []
        func measure(_ name: String, _ input: Tensor, passes: Double, _ body: () throws -> Void) throws {
            let seconds = try time(options, body)
            let shape = input.shape.map(String.init).joined(separator: "x")
            measurements.append(Measurement(bench: name, shape: shape, seconds: seconds, flops: nil,
                                            bytes: passes * Double(input.count * 4), items: Double(input.count)))
        }
        try measure("layernorm", hidden, passes: 2) { _ = try layerNorm(hidden, weight: weight, bias: bias, eps: 1e-5) }
        try measure("layernorm bwd", hidden, passes: 3) {
            _ = try layerNormBackward(hidden, input: hidden, weight: weight, mean: normalised.mean, rstd: normalised.rstd)
        }
        try measure("softmax", scores, passes: 2) { _ = try softmax(lastAxisOf: scores) }
        try measure("softmax bwd", scores, passes: 3) { _ = try softmaxBackward(scores, output: probabilities) }
        try measure("gelu", hidden, passes: 2) { _ = gelu(hidden) }
        try measure("gelu", wide, passes: 2) { _ = gelu(wide) }
        try measure("gelu bwd", wide, passes: 3) { _ = try geluBackward(wide, input: wide) }
        try measure("quick_gelu", wide, passes: 2) { _ = quickGELU(wide) }
        try measure("add bias", wide, passes: 2) { _ = try add(wide, wideBias) }
        try measure("add", wide, passes: 3) { _ = try add(wide, wide) }
        report(measurements, options: options)
    }
}
