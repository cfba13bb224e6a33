import CDNNL
import Synchronization
import Tensor

// The one file that talks to oneDNN: the engine, matmul primitives with a runtime row count, their execution.

/// A oneDNN call that failed, with the call's name and oneDNN's status code.
public struct DNNLError: Error, CustomStringConvertible {
    public let call: String
    public let status: Int
    public var description: String { "oneDNN \(call) failed with status \(status)" }
}

private func check(_ status: dnnl_status_t, _ call: String) throws {
    guard status == dnnl_success else { throw DNNLError(call: call, status: Int(status.rawValue)) }
}

/// The process's oneDNN CPU engine. oneDNN's own OpenMP threading is not used: each call runs on one thread
/// (`omp_set_num_threads(1)` on the calling thread), and `DNNLMatmul.run` splits the rows across `Parallel`'s
/// threads, so oneDNN never competes with the engine's other kernels for the cores (nor spins between calls).
private final class DNNLContext: @unchecked Sendable {
    static let shared = DNNLContext()
    let engine: dnnl_engine_t?

    private init() {
        var engine: dnnl_engine_t?
        self.engine = dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success ? engine : nil
    }
}

/// The instruction set oneDNN's kernels use on this CPU (lowered by `ONEDNN_MAX_CPU_ISA`).
public enum DNNLInstructionSet: Int, Comparable, Sendable, CustomStringConvertible {
    case sse41 = 1, avx, avx2, avx2VNNI, avx512Core, avx512CoreVNNI, avx512CoreBF16, avx512CoreAMX

    /// What `dnnl_get_effective_cpu_isa` reports for this process.
    public static var effective: DNNLInstructionSet {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: return .avx512CoreAMX
        case dnnl_cpu_isa_avx512_core_bf16: return .avx512CoreBF16
        case dnnl_cpu_isa_avx512_core_vnni: return .avx512CoreVNNI
        case dnnl_cpu_isa_avx512_core: return .avx512Core
        case dnnl_cpu_isa_avx2_vnni: return .avx2VNNI
        case dnnl_cpu_isa_avx2: return .avx2
        case dnnl_cpu_isa_avx: return .avx
        default: return .sse41
        }
    }

    /// Whether u8·s8 products are exact for full-range operands: without VNNI (or AMX), oneDNN's x86 kernels add
    /// pairs of u8·s8 products in saturating 16-bit arithmetic (`vpmaddubsw`), exact only while u8 ≤ 127.
    public var hasExactInt8DotProducts: Bool {
        switch self {
        case .avx2VNNI, .avx512CoreVNNI, .avx512CoreBF16, .avx512CoreAMX: return true
        default: return false
        }
    }

    /// Whether bf16 products run on bf16 hardware (AVX512-BF16 or AMX).
    public var hasBF16: Bool { self >= .avx512CoreBF16 && self != .avx2VNNI }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .sse41: return "sse41"
        case .avx: return "avx"
        case .avx2: return "avx2"
        case .avx2VNNI: return "avx2_vnni"
        case .avx512Core: return "avx512_core"
        case .avx512CoreVNNI: return "avx512_core_vnni"
        case .avx512CoreBF16: return "avx512_core_bf16"
        case .avx512CoreAMX: return "avx512_core_amx"
        }
    }
}

/// Element types of a matmul primitive.
enum MatmulTypes: Hashable, Sendable {
    /// u8 activations · s8 weights → s32 accumulators (no bias: the caller rescales).
    case int8
    /// bf16 · bf16 → f32, plus an f32 bias.
    case bf16
    /// f32 · f32 → f32, plus an f32 bias.
    case fp32

    /// Bytes per source element (u8, bf16, f32); every destination element is 4 bytes (s32 or f32).
    var sourceElementSize: Int {
        switch self {
        case .int8: return 1
        case .bf16: return 2
        case .fp32: return 4
        }
    }

    var types: (source: dnnl_data_type_t, weights: dnnl_data_type_t, destination: dnnl_data_type_t) {
        switch self {
        case .int8: return (dnnl_u8, dnnl_s8, dnnl_s32)
        case .bf16: return (dnnl_bf16, dnnl_bf16, dnnl_f32)
        case .fp32: return (dnnl_f32, dnnl_f32, dnnl_f32)
        }
    }
}

/// C[m×n] = A[m×k]·Wᵀ (+ bias) for W stored `[n, k]` row-major (PyTorch's Linear layout), any row count m. One
/// primitive per (types, k, n, bias), created once; oneDNN packs the weight panels itself as it goes.
final class DNNLMatmul: @unchecked Sendable {
    let types: MatmulTypes
    let k: Int, n: Int, hasBias: Bool
    /// The implementation oneDNN chose, e.g. "gemm:jit" or "brg:avx512_core_amx".
    let implementation: String
    private let primitive: dnnl_primitive_t?
    private let primitiveDescriptor: dnnl_primitive_desc_t?

    init(types: MatmulTypes, k: Int, n: Int, hasBias: Bool) throws {
        self.types = types; self.k = k; self.n = n; self.hasBias = hasBias
        let context = DNNLContext.shared
        guard context.engine != nil else { throw DNNLError(call: "dnnl_engine_create", status: -1) }
        let (sourceType, weightType, destinationType) = types.types
        let rows = cnclip_dnnl_runtime_dim()
        var source = dnnl_memory_desc_t(), weights = dnnl_memory_desc_t(), destination = dnnl_memory_desc_t()
        var bias = dnnl_memory_desc_t()
        try check(cnclip_dnnl_matrix(&source, rows, Int64(k), sourceType, Int64(k), 1), "memory_desc(src)")
        try check(cnclip_dnnl_matrix(&weights, Int64(k), Int64(n), weightType, 1, Int64(k)), "memory_desc(weights)")
        try check(cnclip_dnnl_matrix(&destination, rows, Int64(n), destinationType, Int64(n), 1), "memory_desc(dst)")
        try check(cnclip_dnnl_matrix(&bias, 1, Int64(n), dnnl_f32, Int64(n), 1), "memory_desc(bias)")
        var descriptor = dnnl_matmul_desc_t()
        try withUnsafePointer(to: &bias) { biasPointer in
            try check(dnnl_matmul_desc_init(&descriptor, &source, &weights, hasBias ? biasPointer : nil, &destination),
                      "dnnl_matmul_desc_init")
        }
        var made: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&made, &descriptor, nil, context.engine, nil), "dnnl_primitive_desc_create")
        primitiveDescriptor = made
        implementation = cnclip_dnnl_implementation(made).map { String(cString: $0) } ?? "unknown"
        var created: dnnl_primitive_t?
        do {
            try check(dnnl_primitive_create(&created, made), "dnnl_primitive_create")
        } catch {
            dnnl_primitive_desc_destroy(made)
            throw error
        }
        primitive = created
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(primitiveDescriptor)
    }

    /// Runs the product for `m` rows: `source` m×k, `weights` n×k, `bias` n floats (when the primitive has one),
    /// `destination` m×n, all row-major and contiguous. Rows are split across `Parallel`'s threads (at least
    /// `minimumRowsPerPart` each).
    func run(m: Int, source: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafePointer<Float>?,
             destination: UnsafeMutableRawPointer) throws {
        guard m > 0 else { return }
        let parts = min(Parallel.threadCount, max(1, m / DNNLMatmul.minimumRowsPerPart))
        if parts == 1 {
            try runRows(0..<m, source: source, weights: weights, bias: bias, destination: destination)
            return
        }
        let operands = MatmulOperands(source: source, weights: weights, bias: bias, destination: destination)
        let failure = Mutex<(any Error)?>(nil)
        Parallel.forRanges(m, grain: (m + parts - 1) / parts) { rows in
            do {
                try runRows(rows, source: operands.source, weights: operands.weights, bias: operands.bias,
                            destination: operands.destination)
            } catch {
                failure.withLock { $0 = error }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Fewest rows one thread's part of a split product gets.
    static let minimumRowsPerPart = 32

    /// The product for `rows` of the operands, on the calling thread.
    private func runRows(_ rows: Range<Int>, source: UnsafeRawPointer, weights: UnsafeRawPointer,
                         bias: UnsafePointer<Float>?, destination: UnsafeMutableRawPointer) throws {
        omp_set_num_threads(1)
        let context = DNNLContext.shared
        let (sourceType, weightType, destinationType) = types.types
        let m = rows.count
        var sourceDesc = dnnl_memory_desc_t(), weightDesc = dnnl_memory_desc_t(), destinationDesc = dnnl_memory_desc_t()
        var biasDesc = dnnl_memory_desc_t()
        try check(cnclip_dnnl_matrix(&sourceDesc, Int64(m), Int64(k), sourceType, Int64(k), 1), "memory_desc(src)")
        try check(cnclip_dnnl_matrix(&weightDesc, Int64(k), Int64(n), weightType, 1, Int64(k)), "memory_desc(weights)")
        try check(cnclip_dnnl_matrix(&destinationDesc, Int64(m), Int64(n), destinationType, Int64(n), 1), "memory_desc(dst)")
        try check(cnclip_dnnl_matrix(&biasDesc, 1, Int64(n), dnnl_f32, Int64(n), 1), "memory_desc(bias)")
        var memories: [dnnl_memory_t?] = []
        var stream: dnnl_stream_t?
        defer {
            for memory in memories { dnnl_memory_destroy(memory) }
            if stream != nil { dnnl_stream_destroy(stream) }
        }
        try check(dnnl_stream_create(&stream, context.engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        func memory(_ descriptor: inout dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) throws -> dnnl_memory_t? {
            var made: dnnl_memory_t?
            try check(dnnl_memory_create(&made, &descriptor, context.engine, UnsafeMutableRawPointer(mutating: pointer)),
                      "dnnl_memory_create")
            memories.append(made)
            return made
        }
        let sourceRows = source + rows.lowerBound * k * types.sourceElementSize
        let destinationRows = destination + rows.lowerBound * n * 4
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: try memory(&sourceDesc, sourceRows)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: try memory(&weightDesc, weights)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: try memory(&destinationDesc, destinationRows))]
        if hasBias, let bias {
            arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: try memory(&biasDesc, bias)))
        }
        try check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "dnnl_primitive_execute")
        try check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}

/// The operands of one split product, handed to the threads that write disjoint rows of the destination.
private struct MatmulOperands: @unchecked Sendable {
    let source: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafePointer<Float>?
    let destination: UnsafeMutableRawPointer
}
