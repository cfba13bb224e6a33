import Foundation

/// What this processor is, read at run time from `/proc/cpuinfo` (never assumed at build time): its model name,
/// vendor, instruction-set flags and clock, and the fp32 peak that benchmarks report fractions against.
public struct CPUInfo: Sendable, Equatable {
    public let modelName: String
    public let vendor: String
    /// The `cpu family` number (AMD Zen 2–4: 23 and 25; Zen 5: 26; Intel Core and Xeon: 6).
    public let family: Int
    /// The `flags` line's words (`avx2`, `fma`, `avx512f`, `avx512_bf16`, `amx_tile`, `pni` for SSE3, …).
    public let flags: Set<String>
    /// The clock `/proc/cpuinfo` reports for the first processor, in MHz (under a hypervisor, often the nominal one).
    public let megahertz: Double

    /// This machine, read once.
    public static let current: CPUInfo = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUInfo(cpuinfo: text)
    }()

    /// Parses the first processor's block of a `/proc/cpuinfo` text.
    public init(cpuinfo text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty && !fields.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        modelName = fields["model name"] ?? "unknown processor"
        vendor = fields["vendor_id"] ?? "unknown"
        family = Int(fields["cpu family"] ?? "") ?? 0
        flags = Set((fields["flags"] ?? "").split(separator: " ").map(String.init))
        megahertz = Double(fields["cpu MHz"] ?? "") ?? 0
    }

    /// Whether every named flag is present.
    public func has(_ names: String...) -> Bool { names.allSatisfy(flags.contains) }

    /// The widest fp32 vector instruction set present, as a short name for reports.
    public var vectorISA: String {
        if has("avx512f") { return "AVX-512" }
        if has("avx2", "fma") { return "AVX2+FMA" }
        if has("avx") { return "AVX" }
        return "SSE"
    }

    /// fp32 FLOPs one core retires per cycle at best: two FMA pipes of the widest vector width (AVX-512 on AMD
    /// before Zen 5 runs in two 256-bit halves, so it counts as AVX2 there; Zen 5 is family 26).
    public var fp32FlopsPerCycle: Double {
        switch vectorISA {
        case "AVX-512": return vendor == "AuthenticAMD" && family < 26 ? 32 : 64
        case "AVX2+FMA": return 32
        case "AVX": return 16
        default: return 8
        }
    }

    /// fp32 peak of `cores` cores at the reported clock, in GFLOP/s.
    public func fp32PeakGFLOPS(cores: Int) -> Double {
        Double(cores) * megahertz / 1000 * fp32FlopsPerCycle
    }
}
