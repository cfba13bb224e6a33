import Foundation
import Tensor
import XCTest

/// Softmax and log-softmax over row lengths around the 16-lane vector width (short rows, whole vectors,
/// whole vectors plus a tail), with and without a mask, against a Double-precision computation: 1e-6 absolute.
final class SoftmaxRowLengthTests: XCTestCase {
    private func reference(_ row: [Float], mask: [Float]?) -> (softmax: [Double], logSoftmax: [Double]) {
        let shifted = row.indices.map { Double(row[$0]) + Double(mask?[$0] ?? 0) }
        let largest = shifted.max() ?? 0
        let logTotal = Foundation.log(shifted.map { Foundation.exp($0 - largest) }.reduce(0, +)) + largest
        return (shifted.map { Foundation.exp($0 - logTotal) }, shifted.map { $0 - logTotal })
    }

    func testRowLengthsAroundTheVectorWidth() throws {
        for length in [1, 5, 15, 16, 17, 31, 32, 37, 197] {
            let rows = 3
            let values = (0..<rows * length).map { Float(($0 * 7919) % 101) / 10 - 5 }
            let maskValues = (0..<length).map { $0 % 3 == 2 ? -Float.infinity : Float($0 % 5) / 4 }
            let x = try Tensor(shape: [rows, length], data: values)
            let mask = try Tensor(shape: [1, length], data: maskValues)
            let masked = try softmax(lastAxisOf: x, additiveMask: length > 1 ? mask : nil).toArray()
            let plain = try softmax(lastAxisOf: x).toArray()
            let logPlain = logSoftmax(lastAxisOf: x).toArray()
            for row in 0..<rows {
                let slice = Array(values[row * length..<(row + 1) * length])
                let expectedMasked = reference(slice, mask: length > 1 ? maskValues : nil).softmax
                let expected = reference(slice, mask: nil)
                for column in 0..<length {
                    let index = row * length + column
                    XCTAssertEqual(Double(masked[index]), expectedMasked[column], accuracy: 1e-6, "masked, length \(length)")
                    XCTAssertEqual(Double(plain[index]), expected.softmax[column], accuracy: 1e-6, "length \(length)")
                    XCTAssertEqual(Double(logPlain[index]), expected.logSoftmax[column], accuracy: 1e-6, "log, length \(length)")
                }
            }
        }
    }
}
