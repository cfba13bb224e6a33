import Foundation
import Imaging
import TestSupport
import XCTest

/// Inputs the reference refuses are errors naming the file, never crashes.
final class BadInputTests: XCTestCase {
    func testEveryRefusedFileThrowsNamingIt() throws {
        let manifest = try ImagingManifest.load()
        XCTAssertEqual(manifest.refused.count, 7)
        for (file, pillowError) in manifest.refused {
            XCTAssertFalse(pillowError.isEmpty, "the reference accepted \(file)")
            let url = Fixtures.url("imaging/bad/" + file)
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url), file) { error in
                XCTAssertTrue("\(error)".contains(file), "\(error)")
            }
        }
    }

    func testErrorKinds() throws {
        func error(_ file: String) -> ImagingError? {
            do {
                _ = try ImageDecoder.decode(Fixtures.data("imaging/bad/" + file), name: file)
                return nil
            } catch {
                return error as? ImagingError
            }
        }
        XCTAssertEqual(error("empty.jpg"), .empty(file: "empty.jpg"))
        XCTAssertEqual(error("random.bin"), .unknownFormat(file: "random.bin"))
        XCTAssertEqual(error("unsupported.tiff"), .unknownFormat(file: "unsupported.tiff"))
        XCTAssertEqual(error("truncated.jpg"), .truncated(file: "truncated.jpg"))
        XCTAssertEqual(error("bomb_60000x60000.png"),
                       .decompressionBomb(file: "bomb_60000x60000.png", width: 60000, height: 60000, limit: 178_956_970))
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "/nonexistent/x.png"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.png"))
        }
    }

    /// A BMP header announcing 20000x20000 pixels (over Pillow's limit) is refused before allocating.
    func testBMPBombIsRefused() {
        var header = [UInt8](repeating: 0, count: 54)
        header[0] = 0x42; header[1] = 0x4D
        func put(_ value: UInt32, at offset: Int) {
            for k in 0..<4 { header[offset + k] = UInt8(value >> (8 * UInt32(k)) & 0xFF) }
        }
        put(54, at: 10); put(40, at: 14); put(20000, at: 18); put(20000, at: 22)
        header[28] = 24
        XCTAssertThrowsError(try ImageDecoder.decode(Data(header), name: "bomb.bmp")) {
            XCTAssertEqual($0 as? ImagingError,
                           .decompressionBomb(file: "bomb.bmp", width: 20000, height: 20000, limit: 178_956_970))
        }
    }
}
