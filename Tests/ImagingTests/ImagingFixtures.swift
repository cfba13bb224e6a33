import Foundation
import Imaging
import TestSupport

/// The imaging fixtures made by Scripts/fixtures/gen_imaging.py from Pillow 9.4 and cn_clip's image_transform.
struct ImagingManifest {
    struct Expected {
        let resolution: Int
        let order: ConversionOrder
        let pixelsPath: String
    }

    struct Entry {
        let file: String
        let mode: String
        let width: Int
        let height: Int
        let decodedCRC32: UInt32
        let expected: [Expected]
    }

    let images: [Entry]
    /// Bad input file → the exception Pillow raised for it.
    let refused: [String: String]

    static func load() throws -> ImagingManifest {
        guard let root = try Fixtures.json("imaging/manifest.json") as? [String: Any],
              let images = root["images"] as? [[String: Any]],
              let bad = root["bad"] as? [String: Any] else {
            throw FixtureError.malformed("imaging/manifest.json", "missing images or bad")
        }
        let entries = try images.map { image -> Entry in
            guard let file = image["file"] as? String, let mode = image["mode"] as? String,
                  let width = image["width"] as? Int, let height = image["height"] as? Int,
                  let crc = image["decoded_crc32"] as? Int, let expected = image["expected"] as? [[String: Any]] else {
                throw FixtureError.malformed("imaging/manifest.json", "bad image entry")
            }
            let outputs = try expected.map { item -> Expected in
                guard let resolution = item["resolution"] as? Int, let orderName = item["order"] as? String,
                      let path = item["pixels"] as? String else {
                    throw FixtureError.malformed("imaging/manifest.json", "bad expected entry for \(file)")
                }
                let order: ConversionOrder = orderName == "convert_then_resize" ? .convertThenResize : .resizeThenConvert
                return Expected(resolution: resolution, order: order, pixelsPath: path)
            }
            return Entry(file: file, mode: mode, width: width, height: height, decodedCRC32: UInt32(crc),
                         expected: outputs)
        }
        return ImagingManifest(images: entries, refused: bad.mapValues { ($0 as? String) ?? "" })
    }

    static func imageData(_ file: String) throws -> Data { try Fixtures.data("imaging/images/" + file) }
}

/// zlib's CRC-32 (reflected polynomial 0xEDB88320), independent of the code under test.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[i] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}

/// The decoded pixels laid out as the fixture script hashes them.
func pixelBytes(_ image: DecodedImage) -> [UInt8] {
    if image.mode == .int32 {
        return image.intSamples.flatMap { value -> [UInt8] in
            let bits = UInt32(bitPattern: value)
            return [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        }
    }
    return image.samples
}
