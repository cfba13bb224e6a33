import Tensor
import XCTest

final class BufferPoolTests: XCTestCase {
    /// Large tensors come back zeroed even when their buffer is recycled from an earlier, dirty tensor.
    func testRecycledBuffersAreZeroedAndIndependent() throws {
        let count = 1 << 19  // 2 MiB: pooled
        var first: Tensor? = Tensor(zeros: [count])
        first?.storage.pointer.update(repeating: 7, count: count)
        let address = first.map { UInt(bitPattern: $0.storage.pointer) }
        first = nil
        let second = Tensor(zeros: [count])
        XCTAssertEqual(UInt(bitPattern: second.storage.pointer), address, "a freed buffer of the same size is reused")
        XCTAssertTrue(second.toArray().allSatisfy { $0 == 0 })
        let third = Tensor(zeros: [count])
        XCTAssertNotEqual(third.storage.pointer, second.storage.pointer)
        third.storage.pointer.update(repeating: 1, count: count)
        XCTAssertTrue(second.toArray().allSatisfy { $0 == 0 })
        XCTAssertEqual(Int(bitPattern: UInt(bitPattern: third.storage.pointer)) % 64, 0)
    }
}
