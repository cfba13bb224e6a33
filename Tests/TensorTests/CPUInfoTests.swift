import Tensor
import XCTest

/// `CPUInfo` reads the processor from `/proc/cpuinfo` text: flags, clock and the fp32 peak per ISA and vendor.
final class CPUInfoTests: XCTestCase {
    private func block(vendor: String, family: Int, flags: String, mhz: String = "3000.000") -> String {
        """
        processor\t: 0
        vendor_id\t: \(vendor)
        cpu family\t: \(family)
        model name\t: Test CPU \(family)
        cpu MHz\t\t: \(mhz)
        flags\t\t: fpu sse sse2 pni \(flags)

        processor\t: 1
        vendor_id\t: Other
        flags\t\t: nothing

        """
    }

    func testPeakFollowsTheWidestVectorUnits() {
        let zen2 = CPUInfo(cpuinfo: block(vendor: "AuthenticAMD", family: 23, flags: "avx fma avx2"))
        XCTAssertEqual(zen2.vectorISA, "AVX2+FMA")
        XCTAssertEqual(zen2.fp32PeakGFLOPS(cores: 2), 2 * 3.0 * 32, accuracy: 1e-9)
        let zen4 = CPUInfo(cpuinfo: block(vendor: "AuthenticAMD", family: 25, flags: "avx fma avx2 avx512f avx512_bf16"))
        XCTAssertEqual(zen4.fp32FlopsPerCycle, 32, "Zen 4 runs AVX-512 in two halves")
        XCTAssertTrue(zen4.has("avx512f", "avx512_bf16"))
        let xeon = CPUInfo(cpuinfo: block(vendor: "GenuineIntel", family: 6, flags: "avx fma avx2 avx512f amx_tile", mhz: "2000"))
        XCTAssertEqual(xeon.fp32PeakGFLOPS(cores: 16), 16 * 2.0 * 64, accuracy: 1e-9)
        XCTAssertEqual(xeon.modelName, "Test CPU 6")
        XCTAssertFalse(xeon.has("nothing"), "only the first processor's block is read")
        let old = CPUInfo(cpuinfo: block(vendor: "GenuineIntel", family: 6, flags: "avx"))
        XCTAssertEqual(old.fp32FlopsPerCycle, 16)
        XCTAssertEqual(CPUInfo(cpuinfo: "").fp32PeakGFLOPS(cores: 4), 0)
    }

    func testThisMachineIsRead() {
        XCTAssertFalse(CPUInfo.current.flags.isEmpty, "/proc/cpuinfo has a flags line")
        XCTAssertGreaterThan(CPUInfo.current.fp32PeakGFLOPS(cores: 1), 0)
    }
}
