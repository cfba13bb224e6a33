import CPUFeatures
import Training
import XCTest

/// `train --precision`: not given or fp32/fp16 trains in fp32; an explicit amp is refused, naming what is missing.
final class TrainingPrecisionTests: XCTestCase {
    private func features(bf16: Bool = false, amx: Bool = false) -> cnclip_cpu_features {
        var features = cnclip_cpu_features()
        features.avx2 = true
        features.fma = true
        features.avx512bf16 = bf16
        features.amxbf16 = amx
        return features
    }

    func testDefaultAndExplicitFP32Train() throws {
        XCTAssertEqual(try TrainingPrecision.resolve(nil, features: features()), "amp")
        XCTAssertEqual(try TrainingPrecision.resolve("fp32", features: features()), "fp32")
        XCTAssertEqual(try TrainingPrecision.resolve("fp16", features: features()), "fp16")
        XCTAssertThrowsError(try TrainingPrecision.resolve("bf16", features: features())) { error in
            XCTAssertEqual(error as? TrainingPrecisionError, .unknown("bf16"))
        }
    }

    func testExplicitAmpNamesTheMissingFeature() {
        XCTAssertThrowsError(try TrainingPrecision.resolve("amp", features: features())) { error in
            XCTAssertEqual(error as? TrainingPrecisionError, .ampNeedsBF16Hardware)
            XCTAssertTrue("\(error)".contains("AVX512_BF16 or AMX-BF16"), "\(error)")
        }
        XCTAssertThrowsError(try TrainingPrecision.resolve("amp", features: features(bf16: true, amx: true))) { error in
            XCTAssertEqual(error as? TrainingPrecisionError, .ampNotImplemented(feature: "AMX-BF16"))
        }
        // This machine: refused either way, never silently fp32.
        XCTAssertThrowsError(try TrainingPrecision.resolve("amp"))
    }
}
