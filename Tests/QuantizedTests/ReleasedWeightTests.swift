import Foundation
import Layers
import Quantized
import Tensor
import TestSupport
import XCTest

/// A quantised Linear gives its fp32 weight's memory back and computes exactly as before; nothing reads the
/// released values silently.
final class ReleasedWeightTests: XCTestCase {
    /// Resident memory of this process in bytes (`/proc/self/statm`).
    private func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return try XCTUnwrap(Int(fields[1])) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// 512 → 640 features: a 1.25 MiB weight, large enough to live in its own mapping.
    private func layer() throws -> Linear {
        let weight = try Tensor(shape: [640, 512], data: lcgValues(640 * 512, seed: 5).map { $0 * 0.05 })
        let bias = try Tensor(shape: [640], data: lcgValues(640, seed: 6))
        return Linear(weight: weight, bias: bias)
    }

    func testInt8LayerReleasesItsFloatWeightAndKeepsItsOutput() throws {
        let linear = try layer()
        let x = try Tensor(shape: [3, 7, 512], data: lcgValues(3 * 7 * 512, seed: 7))
        let expected = try Int8Linear(linear)(x).toArray() // quantised while the fp32 weight is there
        let kernel = try linear.use(precision: .int8)
        XCTAssertNotNil(kernel)
        XCTAssertTrue(linear.weight.storage.isReleased)
        XCTAssertEqual(try linear(x).toArray(), expected)
        // The fp32 product over the released weight, and going back to fp32, are refused by name.
        let view = Linear(weight: linear.weight, bias: linear.bias)
        XCTAssertThrowsError(try view(x)) { error in
            XCTAssertEqual(error as? TensorError, .releasedValues(op: "Linear"))
        }
        XCTAssertThrowsError(try linear.use(precision: .fp32)) { error in
            XCTAssertEqual(error as? TensorError, .releasedValues(op: "Linear.use(precision: fp32)"))
        }
        XCTAssertEqual(try linear(x).toArray(), expected) // the int8 kernel stays installed
    }

    func testKeepingTheFloatWeightAllowsGoingBack() throws {
        let linear = try layer()
        let x = try Tensor(shape: [2, 512], data: lcgValues(2 * 512, seed: 8))
        let fp32 = try linear(x).toArray()
        try linear.use(precision: .int8, keepFloatWeight: true)
        XCTAssertFalse(linear.weight.storage.isReleased)
        try linear.use(precision: .fp32)
        XCTAssertEqual(try linear(x).toArray(), fp32)
    }

    func testReleasedStorageLeavesTheResidentSet() throws {
        let count = (16 << 20) / 4 + 3 * 1024 + 7 // 16 MiB and an unusual size, so no cached buffer is reused
        let storage = TensorStorage(count: count)
        let untouched = try residentBytes()
        storage.pointer.update(repeating: 1, count: count)
        let written = try residentBytes()
        XCTAssertGreaterThan(written - untouched, 12 << 20) // fresh zero pages took no memory until written
        XCTAssertTrue(storage.releaseContents())
        XCTAssertLessThan(try residentBytes(), written - (12 << 20))
        XCTAssertFalse(TensorStorage(count: 16).releaseContents()) // small buffers belong to the allocator
    }
}
