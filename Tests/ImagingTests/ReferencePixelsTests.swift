import Foundation
import Imaging
import TestSupport
import XCTest

/// Decoded modes and resized pixels against Pillow 9.4 + cn_clip's image_transform on the committed suite.
final class ReferencePixelsTests: XCTestCase {
    /// Every image opens in Pillow's mode and size with the same decoded pixels (CRC-32 of the samples).
    func testDecodedImagesMatchPillow() throws {
        let manifest = try ImagingManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.images.count, 25)
        for entry in manifest.images {
            let image = try ImageDecoder.decode(ImagingManifest.imageData(entry.file), name: entry.file)
            XCTAssertEqual(image.mode.rawValue, entry.mode, entry.file)
            XCTAssertEqual(image.width, entry.width, entry.file)
            XCTAssertEqual(image.height, entry.height, entry.file)
            XCTAssertEqual(crc32(pixelBytes(image)), entry.decodedCRC32, "decoded pixels of \(entry.file)")
        }
    }

    /// Resized uint8 RGB pixels equal the reference's exactly (tolerance 0) in both orders and every resolution.
    func testResizedPixelsEqualReference() throws {
        let manifest = try ImagingManifest.load()
        var compared = 0, differing = 0, worst = 0
        var failures: [String] = []
        for entry in manifest.images {
            let image = try ImageDecoder.decode(ImagingManifest.imageData(entry.file), name: entry.file)
            for expected in entry.expected {
                let reference = try ImageDecoder.decode(Fixtures.data("imaging/" + expected.pixelsPath)).rgbImage
                let ours = try ImagePreprocessor(resolution: expected.resolution).resizedRGB(image, order: expected.order)
                XCTAssertEqual(ours.width, reference.width)
                XCTAssertEqual(ours.height, reference.height)
                guard ours.pixels.count == reference.pixels.count else { continue }
                var localDiffering = 0
                for (a, b) in zip(ours.pixels, reference.pixels) where a != b {
                    localDiffering += 1
                    worst = max(worst, abs(Int(a) - Int(b)))
                }
                compared += ours.pixels.count
                differing += localDiffering
                if localDiffering > 0 {
                    failures.append("\(entry.file) \(expected.order) \(expected.resolution): \(localDiffering) differ")
                }
            }
        }
        let share = Double(differing) / Double(max(compared, 1))
        print("imaging reference suite: \(compared) samples compared, \(differing) differ (share \(share)), max |diff| \(worst)")
        XCTAssertEqual(differing, 0, failures.joined(separator: "\n"))
    }

    /// Full tensors (ToTensor + Normalize in fp32) equal the reference's bit for bit.
    func testNormalizedTensorsEqualReference() throws {
        let tensors = try Fixtures.tensors("imaging/normalized.json")
        XCTAssertEqual(tensors.count, 3)
        for (key, expected) in tensors {
            let parts = key.split(separator: "|").map(String.init)
            let order: ConversionOrder = parts[1] == "convert_then_resize" ? .convertThenResize : .resizeThenConvert
            let preprocessor = ImagePreprocessor(resolution: Int(parts[2]) ?? 0)
            let result = try preprocessor.tensor(fromEncoded: ImagingManifest.imageData(parts[0]), name: parts[0], order: order)
            XCTAssertEqual(result.tensor.shape, expected.shape, key)
            XCTAssertEqual(maxAbsDifference(result.tensor.toArray(), expected.floats), 0, key)
        }
    }

    /// 16-bit grey PNGs come out (almost) white as in the reference, with a warning naming the file.
    func testSixteenBitGreyWarns() throws {
        let file = "png_gray16_64x48.png"
        let result = try ImagePreprocessor(resolution: 32).tensor(fromEncoded: ImagingManifest.imageData(file), name: file)
        XCTAssertEqual(result.warnings.count, 1)
        XCTAssertTrue(result.warnings[0].contains(file))
        let white = result.pixels.pixels.filter { $0 == 255 }.count
        XCTAssertGreaterThan(Double(white) / Double(result.pixels.pixels.count), 0.95)
    }
}
