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

/// C[m×n] = A[m×k]·Wᵀ (+ bias) for W stored `[n, k]` row-major (PyTorch's Linear layout), any row count m.
///
/// At creation oneDNN picks the weight layout its fastest kernel wants (blocked panels for the AMX / AVX-512
/// brgemm kernels) and the weights are reordered into it once (not into another plain layout, such as the
/// transpose AVX2's gemm:jit asks for: it packs per call anyway, and the copy would double the weights' memory). Row counts then get their own primitive over those
/// packed weights (cached per count); where oneDNN wants another layout for some count, or none was packed, a
/// primitive with a runtime row count reads the plain weights.
final class DNNLMatmul: @unchecked Sendable {
    let types: MatmulTypes
    let k: Int, n: Int, hasBias: Bool
    /// The implementation oneDNN chose for the packed weights (else the plain one), e.g. "brg:avx512_core_amx".
    let implementation: String
    private let plain: Primitive
    private let packedWeights: UnsafeMutableRawPointer?
    private var packedLayout = dnnl_memory_desc_t()
    private let byRows = Mutex<[Int: Primitive?]>([:])

    /// A primitive and its descriptor, destroyed together.
    private final class Primitive: @unchecked Sendable {
        let primitive: dnnl_primitive_t?, descriptor: dnnl_primitive_desc_t?
        init(_ descriptor: dnnl_primitive_desc_t?) throws {
            var created: dnnl_primitive_t?
            do {
                try check(dnnl_primitive_create(&created, descriptor), "dnnl_primitive_create")
            } catch {
                dnnl_primitive_desc_destroy(descriptor)
                throw error
            }
            self.primitive = created
            self.descriptor = descriptor
        }
        var implementation: String { cnclip_dnnl_implementation(descriptor).map { String(cString: $0) } ?? "unknown" }
        /// The scratchpad each execution needs (user-managed scratchpad mode).
        var scratchpad: dnnl_memory_desc_t {
            dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
        }
        deinit {
            dnnl_primitive_destroy(primitive)
            dnnl_primitive_desc_destroy(descriptor)
        }
    }

    /// Most row counts that get a primitive of their own; others run on the plain primitive.
    private static let maximumRowCounts = 32

    /// - Parameter weights: the `[n, k]` weights in the source type (u8·s8: s8; bf16: bf16 bits; fp32), read once
    ///   here to pack them; `run` must be given the same plain weights.
    init(types: MatmulTypes, k: Int, n: Int, hasBias: Bool, weights: UnsafeRawPointer) throws {
        self.types = types; self.k = k; self.n = n; self.hasBias = hasBias
        guard DNNLContext.shared.engine != nil else { throw DNNLError(call: "dnnl_engine_create", status: -1) }
        plain = try Primitive(DNNLMatmul.descriptor(types: types, rows: cnclip_dnnl_runtime_dim(), k: k, n: n,
                                                    hasBias: hasBias, packedWeights: nil))
        var layout = dnnl_memory_desc_t()
        let probe = try? Primitive(DNNLMatmul.descriptor(types: types, rows: 256, k: k, n: n, hasBias: hasBias,
                                                          packedWeights: &layout))
        var plainLayout = DNNLMatmul.plainWeights(types: types, k: k, n: n)
        if let probe, let chosen = dnnl_primitive_desc_query_md(probe.descriptor, dnnl_query_weights_md, 0),
           dnnl_memory_desc_equal(chosen, &plainLayout) == 0, cnclip_dnnl_is_plain(chosen) == 0 {
            var target = chosen.pointee
            packedLayout = target
            let size = dnnl_memory_desc_get_size(&target)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
            do {
                try DNNLMatmul.reorder(from: &plainLayout, weights, to: &target, buffer)
                packedWeights = buffer
                implementation = probe.implementation
            } catch {
                buffer.deallocate()
                packedWeights = nil
                implementation = plain.implementation
            }
        } else {
            packedWeights = nil
            implementation = plain.implementation
        }
    }

    deinit { packedWeights?.deallocate() }

    /// The weights' plain layout: `[k, n]` with W's rows as columns (strides 1, k).
    private static func plainWeights(types: MatmulTypes, k: Int, n: Int) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        _ = cnclip_dnnl_matrix(&descriptor, Int64(k), Int64(n), types.types.weights, 1, Int64(k))
        return descriptor
    }

    /// A matmul descriptor for `rows` rows (or runtime rows), over plain weights, or over weights in the layout
    /// oneDNN picks (`packedWeights` non-nil: left as "any" when empty, else that layout).
    private static func descriptor(types: MatmulTypes, rows: Int64, k: Int, n: Int, hasBias: Bool,
                                   packedWeights: UnsafeMutablePointer<dnnl_memory_desc_t>?) throws -> dnnl_primitive_desc_t? {
        let (sourceType, weightType, destinationType) = types.types
        var source = dnnl_memory_desc_t(), destination = dnnl_memory_desc_t(), bias = dnnl_memory_desc_t()
        var weights = packedWeights?.pointee ?? plainWeights(types: types, k: k, n: n)
        if let packedWeights, packedWeights.pointee.ndims == 0 {
            try check(cnclip_dnnl_matrix_any(&weights, Int64(k), Int64(n), weightType), "memory_desc(weights any)")
        }
        try check(cnclip_dnnl_matrix(&source, rows, Int64(k), sourceType, Int64(k), 1), "memory_desc(src)")
        try check(cnclip_dnnl_matrix(&destination, rows, Int64(n), destinationType, Int64(n), 1), "memory_desc(dst)")
        try check(cnclip_dnnl_matrix(&bias, 1, Int64(n), dnnl_f32, Int64(n), 1), "memory_desc(bias)")
        var descriptor = dnnl_matmul_desc_t()
        try withUnsafePointer(to: &bias) { biasPointer in
            try check(dnnl_matmul_desc_init(&descriptor, &source, &weights, hasBias ? biasPointer : nil, &destination),
                      "dnnl_matmul_desc_init")
        }
        // Each execution gets its own scratchpad (`runRows`): oneDNN's library-managed one is shared, and the row
        // parts of a split product run concurrently.
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user),
                  "dnnl_primitive_attr_set_scratchpad_mode")
        var made: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&made, &descriptor, attributes, DNNLContext.shared.engine, nil),
                  "dnnl_primitive_desc_create")
        return made
    }

    /// Copies weights from one layout into another (the packing at load).
    private static func reorder(from source: inout dnnl_memory_desc_t, _ input: UnsafeRawPointer,
                                to destination: inout dnnl_memory_desc_t, _ output: UnsafeMutableRawPointer) throws {
        let engine = DNNLContext.shared.engine
        var descriptor: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&descriptor, &source, engine, &destination, engine, nil),
                  "dnnl_reorder_primitive_desc_create")
        let reorder = try Primitive(descriptor)
        var from: dnnl_memory_t?, to: dnnl_memory_t?, stream: dnnl_stream_t?
        defer { dnnl_memory_destroy(from); dnnl_memory_destroy(to); if stream != nil { dnnl_stream_destroy(stream) } }
        try check(dnnl_memory_create(&from, &source, engine, UnsafeMutableRawPointer(mutating: input)), "dnnl_memory_create")
        try check(dnnl_memory_create(&to, &destination, engine, output), "dnnl_memory_create")
        try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        let arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        omp_set_num_threads(Int32(Parallel.threadCount))
        try check(dnnl_primitive_execute(reorder.primitive, stream, 2, arguments), "dnnl_primitive_execute(reorder)")
        try check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }

    /// The primitive over the packed weights for `rows` rows, made on first use; nil where there is none.
    private func packedPrimitive(rows: Int) -> Primitive? {
        guard packedWeights != nil else { return nil }
        if let cached = byRows.withLock({ $0[rows] }) { return cached }
        var layout = packedLayout
        let made = try? Primitive(DNNLMatmul.descriptor(types: types, rows: Int64(rows), k: k, n: n, hasBias: hasBias,
                                                         packedWeights: &layout))
        return byRows.withLock { cache in
            if cache.count >= DNNLMatmul.maximumRowCounts { return made }
            cache[rows] = .some(made)
            return made
        }
    }

    /// Runs the product for `m` rows: `source` m×k, `weights` the plain n×k weights given at creation, `bias` n
    /// floats (when the primitive has one), `destination` m×n, all row-major and contiguous. Rows are split across
    /// `Parallel`'s threads (at least `minimumRowsPerPart` each).
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
        let engine = DNNLContext.shared.engine
        let (sourceType, _, destinationType) = types.types
        let m = rows.count
        let packed = packedPrimitive(rows: m)
        var sourceDesc = dnnl_memory_desc_t(), destinationDesc = dnnl_memory_desc_t(), biasDesc = dnnl_memory_desc_t()
        var weightDesc = packed != nil ? packedLayout : DNNLMatmul.plainWeights(types: types, k: k, n: n)
        try check(cnclip_dnnl_matrix(&sourceDesc, Int64(m), Int64(k), sourceType, Int64(k), 1), "memory_desc(src)")
        try check(cnclip_dnnl_matrix(&destinationDesc, Int64(m), Int64(n), destinationType, Int64(n), 1), "memory_desc(dst)")
        try check(cnclip_dnnl_matrix(&biasDesc, 1, Int64(n), dnnl_f32, Int64(n), 1), "memory_desc(bias)")
        var memories: [dnnl_memory_t?] = []
        var stream: dnnl_stream_t?
        defer {
            for memory in memories { dnnl_memory_destroy(memory) }
            if stream != nil { dnnl_stream_destroy(stream) }
        }
        try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        func memory(_ descriptor: inout dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) throws -> dnnl_memory_t? {
            var made: dnnl_memory_t?
            try check(dnnl_memory_create(&made, &descriptor, engine, UnsafeMutableRawPointer(mutating: pointer)),
                      "dnnl_memory_create")
            memories.append(made)
            return made
        }
        let sourceRows = source + rows.lowerBound * k * types.sourceElementSize
        let destinationRows = destination + rows.lowerBound * n * 4
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: try memory(&sourceDesc, sourceRows)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS,
                                         memory: try memory(&weightDesc, packed != nil ? UnsafeRawPointer(packedWeights!) : weights)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: try memory(&destinationDesc, destinationRows))]
        if hasBias, let bias {
            arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: try memory(&biasDesc, bias)))
        }
        let chosen = packed ?? plain
        var scratchpadDesc = chosen.scratchpad
        let scratchpadSize = scratchpadDesc.ndims > 0 ? dnnl_memory_desc_get_size(&scratchpadDesc) : 0
        let scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(scratchpadSize, 64), alignment: 64)
        defer { scratchpad.deallocate() }
        if scratchpadSize > 0 {
            arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: try memory(&scratchpadDesc, scratchpad)))
        }
        try check(dnnl_primitive_execute(chosen.primitive, stream, Int32(arguments.count), arguments), "dnnl_primitive_execute")
        try check(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}

/// The operands of one split product, handed to the threads that write disjoint rows of the destination.
private struct MatmulOperands: @unchecked Sendable {
    let source: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafePointer<Float>?
    let destination: UnsafeMutableRawPointer
}
