import Foundation

/// Errors of the demo's data preparation and report, naming the file at fault.
public enum DemoError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): \(reason)"
        case let .malformed(path, reason): return "\(path): \(reason)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// One split of Fashion-MNIST read from its (decompressed) IDX files: 28×28 grey images, labels 0–9.
public struct FashionMNIST: Sendable {
    /// The ten classes in label order with their Chinese names and measure words.
    public static let classes: [(name: String, measure: String)] = [
        ("T恤", "件"), ("裤子", "条"), ("套头衫", "件"), ("连衣裙", "条"), ("外套", "件"),
        ("凉鞋", "双"), ("衬衫", "件"), ("运动鞋", "双"), ("包", "个"), ("短靴", "双"),
    ]
    public static let side = 28

    /// Row-major pixels, `side²` bytes per image.
    public let pixels: [UInt8]
    public let labels: [Int]
    public var count: Int { labels.count }

    /// Reads `<directory>/<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` (`train` or `t10k`).
    public init(directory: String, prefix: String) throws {
        let imagePath = "\(directory)/\(prefix)-images-idx3-ubyte", labelPath = "\(directory)/\(prefix)-labels-idx1-ubyte"
        let images = try Self.read(imagePath), labels = try Self.read(labelPath)
        guard images.count >= 16, Self.bigEndian(images, 0) == 2051, Self.bigEndian(images, 8) == 28,
              Self.bigEndian(images, 12) == 28 else {
            throw DemoError.malformed(path: imagePath, reason: "not an IDX file of 28×28 images")
        }
        guard labels.count >= 8, Self.bigEndian(labels, 0) == 2049 else {
            throw DemoError.malformed(path: labelPath, reason: "not an IDX label file")
        }
        let count = Self.bigEndian(images, 4)
        guard Self.bigEndian(labels, 4) == count, images.count == 16 + count * 784, labels.count == 8 + count else {
            throw DemoError.malformed(path: imagePath, reason: "image and label counts or sizes disagree")
        }
        pixels = Array(images[16...])
        self.labels = labels[8...].map { Int($0) }
        guard self.labels.allSatisfy({ $0 < 10 }) else { throw DemoError.malformed(path: labelPath, reason: "label above 9") }
    }

    /// The pixels of image `index`.
    public func image(_ index: Int) -> ArraySlice<UInt8> { pixels[(index * 784)..<((index + 1) * 784)] }

    private static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DemoError.unreadable(path: path, reason: "cannot read (decompress the .gz first)")
        }
        return [UInt8](data)
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int) -> Int {
        (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }
}
