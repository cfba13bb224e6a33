import Dataset
import Foundation
import XCTest

/// `ImageBase64.decode` against Foundation's decoder (standard alphabet) on every length mod 3 and both alphabets.
final class ImageBase64Tests: XCTestCase {
    func testDecodesBothAlphabets() throws {
        for length in 0..<40 {
            let bytes = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) })
            let standard = bytes.base64EncodedString()
            let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            if length == 0 {
                XCTAssertEqual(ImageBase64.decode(standard.utf8), .failure(ImageBase64Error(reason: "empty base64 data")))
                continue
            }
            XCTAssertEqual(ImageBase64.decode(standard.utf8), .success(bytes), standard)
            XCTAssertEqual(ImageBase64.decode(urlSafe.utf8), .success(bytes), urlSafe)
        }
    }

    func testRejectsMalformedText() {
        XCTAssertEqual(ImageBase64.decode("abc".utf8), .failure(ImageBase64Error(reason: "base64 length 3 is not a multiple of 4")))
        XCTAssertEqual(ImageBase64.decode("ab$d".utf8), .failure(ImageBase64Error(reason: "invalid base64 character at offset 2")))
        XCTAssertEqual(ImageBase64.decode("a=bc".utf8),
                       .failure(ImageBase64Error(reason: "base64 padding '=' before the end (offset 2)")))
    }
}
