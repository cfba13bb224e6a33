import Dataset
import Foundation

/// A small dataset in the reference's formats for the trainer and multi-process tests: 24-bit BMP images of four
/// colours with a darker stripe, captioned by colour in Chinese, written as `<split>_imgs.tsv` /
/// `<split>_texts.jsonl` and turned into LMDB splits `train` and `valid` by the Dataset builder.
public enum SyntheticLMDB {
    public static let colours: [(name: String, rgb: (UInt8, UInt8, UInt8))] = [
        ("红色", (220, 30, 30)), ("绿色", (30, 200, 40)), ("蓝色", (30, 40, 220)), ("黄色", (230, 220, 30)),
    ]

    /// Builds splits `train` (`trainCount` pairs, ids from 1000) and `valid` (ids from 5000) under `directory`;
    /// returns the LMDB directory. `corrupt` replaces the image of that train id with base64 text that is not an
    /// image. `varied` brightens each image by a per-index shade and a left-to-right ramp, so no two images of a
    /// colour are alike (otherwise every image of a colour and stripe is solid and identical).
    public static func build(in directory: URL, trainCount: Int, validCount: Int, corrupt: Int? = nil,
                             varied: Bool = false) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (split, count, firstId) in [("train", trainCount, 1000), ("valid", validCount, 5000)] {
            var images = "", texts = ""
            for index in 0..<count {
                let id = firstId + index
                let colour = colours[index % colours.count]
                let image = bmp(width: 16, height: 16, rgb: colour.rgb, stripe: index % 3,
                                shade: varied ? UInt8(index % 7) * 9 : 0, ramp: varied)
                let base64 = (id == corrupt ? Data("not an image".utf8) : image).base64EncodedString()
                images += "\(id)\t\(base64)\n"
                let caption = ["一块\(colour.name)的方块", "\(colour.name)图片", "这是\(colour.name)"][index % 3]
                texts += "{\"text_id\": \(id), \"text\": \"\(caption)\", \"image_ids\": [\(id)]}\n"
            }
            try images.write(to: directory.appendingPathComponent("\(split)_imgs.tsv"), atomically: true, encoding: .utf8)
            try texts.write(to: directory.appendingPathComponent("\(split)_texts.jsonl"), atomically: true, encoding: .utf8)
        }
        let lmdb = directory.appendingPathComponent("lmdb")
        try LMDBBuilder(dataDirectory: directory.path, lmdbDirectory: lmdb.path, report: { _ in })
            .build(splits: ["train", "valid"])
        return lmdb
    }

    /// An uncompressed bottom-up 24-bit BMP of one colour with a darker horizontal stripe at row band `stripe`
    /// (0–2); each channel is raised by `shade` and, with `ramp`, by the column index (wrapping at 256).
    public static func bmp(width: Int, height: Int, rgb: (UInt8, UInt8, UInt8), stripe: Int, shade: UInt8 = 0,
                           ramp: Bool = false) -> Data {
        let rowBytes = (width * 3 + 3) / 4 * 4
        let pixelBytes = rowBytes * height
        var data = Data("BM".utf8)
        func le32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { data.append(contentsOf: $0) } }
        func le16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { data.append(contentsOf: $0) } }
        le32(54 + pixelBytes); le32(0); le32(54)
        le32(40); le32(width); le32(height); le16(1); le16(24); le32(0); le32(pixelBytes); le32(2835); le32(2835)
        le32(0); le32(0)
        for row in 0..<height {
            let dark = (row * 3 / height) == stripe
            for column in 0..<width {
                let scale: (UInt8) -> UInt8 = { value in
                    let shaded = value &+ shade &+ (ramp ? UInt8(truncatingIfNeeded: column) : 0)
                    return dark ? shaded / 3 : shaded
                }
                data.append(contentsOf: [scale(rgb.2), scale(rgb.1), scale(rgb.0)])
            }
            data.append(contentsOf: [UInt8](repeating: 0, count: rowBytes - width * 3))
        }
        return data
    }
}
