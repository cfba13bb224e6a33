import Foundation
import Imaging
import TestSupport
import XCTest

/// Seeded mutations of the committed images: every input must give an image or an `ImagingError` naming the
/// input, never a crash, hang or unbounded allocation (pixel limit lowered to 2^22 to keep the run short).
final class DecoderFuzzTests: XCTestCase {

    static let mutationsPerSeed = 250

    func testMutatedImagesNeverCrash() throws {
        let manifest = try ImagingManifest.load()
        let seeds = try manifest.images.map { try ImagingManifest.imageData($0.file) }.filter { $0.count < 40_000 }
        var generator = SeededGenerator(state: 20_240_601)
        var decoded = 0, refused = 0
        let start = Date()
        for (seedIndex, seed) in seeds.enumerated() {
            for round in 0..<Self.mutationsPerSeed {
                let input = Self.mutate([UInt8](seed), using: &generator)
                let name = "mutation-\(seedIndex)-\(round)"
                do {
                    let image = try ImageDecoder.decode(Data(input), name: name, maxPixels: 1 << 22)
                    let pixels = try ImagePreprocessor(resolution: 8).resizedRGB(image, order: round % 2 == 0
                        ? .resizeThenConvert : .convertThenResize)
                    XCTAssertEqual(pixels.pixels.count, 8 * 8 * 3)
                    decoded += 1
                } catch let error as ImagingError {
                    XCTAssertTrue(error.description.contains(name), error.description)
                    refused += 1
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("imaging fuzz: \(decoded + refused) mutated inputs from \(seeds.count) images: \(decoded) decoded, "
              + "\(refused) refused, \(String(format: "%.1f", seconds)) s")
        XCTAssertGreaterThanOrEqual(decoded + refused, 2000)
        XCTAssertGreaterThan(decoded, 0)
        XCTAssertGreaterThan(refused, 0)
    }

    /// One random edit of `bytes`: bit flips, special bytes, header scribbles, truncation, insertion, deletion,
    /// duplication; PNG chunk CRCs are then often repaired so the mutation reaches the decoder proper.
    static func mutate(_ original: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = original
        let edits = Int.random(in: 1...4, using: &generator)
        for _ in 0..<edits where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<7, using: &generator) {
            case 0:
                bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            case 1:
                bytes[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE].randomElement(using: &generator) ?? 0
            case 2:
                let headerAt = Int.random(in: 0..<min(bytes.count, 64), using: &generator)
                bytes[headerAt] = UInt8.random(in: 0...255, using: &generator)
            case 3:
                bytes.removeLast(bytes.count - at)
            case 4:
                let junk = (0..<Int.random(in: 1...32, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                bytes.insert(contentsOf: junk, at: at)
            case 5:
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &generator)))
            default:
                let end = min(bytes.count, at + Int.random(in: 1...256, using: &generator))
                bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &generator))
            }
        }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && Bool.random(using: &generator) {
            repairPNGChecksums(&bytes)
        }
        return bytes
    }

    /// Recomputes every whole chunk's CRC so libpng reads the mutated contents instead of stopping at the CRC.
    static func repairPNGChecksums(_ bytes: inout [UInt8]) {
        var at = 8
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length <= bytes.count - at - 12 else { return }
            let crc = crc32(Array(bytes[(at + 4)..<(at + 8 + length)]))
            for k in 0..<4 { bytes[at + 8 + length + k] = UInt8(crc >> (24 - 8 * UInt32(k)) & 0xFF) }
            at += 12 + length
        }
    }
}
