import Foundation

/// Turns Fashion-MNIST into the reference's dataset format: `<split>_imgs.tsv` (id, base64 PNG) and
/// `<split>_texts.jsonl` for `train` (one caption per image, template drawn per image) and `valid` (one query per
/// class and tone, with every validation image that fits it), plus the zero-shot folder layout of the test split
/// (`zeroshot/test/000 … 009/<id>.png`) and `label_cn.txt`.
public struct DemoDatasetWriter {
    public let output: String
    public var report: (String) -> Void = { _ in }

    public init(output: String, report: @escaping (String) -> Void = { _ in }) {
        self.output = output
        self.report = report
    }

    /// Writes `trainCount` training images (from the start of the training file), `validCount` validation images
    /// (from its end, disjoint from training) and `testCount` test images.
    /// Each training image's caption template is picked by a multiplicative hash of its index.
    public func write(train: FashionMNIST, test: FashionMNIST, trainCount: Int, validCount: Int, testCount: Int) throws {
        guard trainCount + validCount <= train.count, testCount <= test.count else {
            throw DemoError.malformed(path: output, reason: "asked for more images than Fashion-MNIST has")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var images = "", texts = ""
        for index in 0..<trainCount {
            let id = 100_000 + index, pixels = train.image(index)
            images += "\(id)\t\(try ImagePNG.encode(pixels, width: 28, height: 28).base64EncodedString())\n"
            let caption = FashionCaptions.caption(label: train.labels[index], tone: FashionCaptions.tone(of: pixels),
                                                  template: Int((UInt32(index) &* 2_654_435_761) >> 16) % FashionCaptions.templates.count)
            texts += "{\"text_id\": \(id), \"text\": \"\(caption)\", \"image_ids\": [\(id)]}\n"
        }
        try save(images, "train_imgs.tsv")
        try save(texts, "train_texts.jsonl")
        report("train: \(trainCount) images and captions")

        images = ""
        var groups: [String: [Int]] = [:], order: [String] = []
        for offset in 0..<validCount {
            let index = train.count - validCount + offset, id = 200_000 + offset, pixels = train.image(index)
            images += "\(id)\t\(try ImagePNG.encode(pixels, width: 28, height: 28).base64EncodedString())\n"
            let query = FashionCaptions.query(label: train.labels[index], tone: FashionCaptions.tone(of: pixels))
            if groups[query] == nil { order.append(query) }
            groups[query, default: []].append(id)
        }
        texts = order.enumerated().map { number, query in
            "{\"text_id\": \(number + 1), \"text\": \"\(query)\", \"image_ids\": [\((groups[query] ?? []).map(String.init).joined(separator: ", "))]}\n"
        }.joined()
        try save(images, "valid_imgs.tsv")
        try save(texts, "valid_texts.jsonl")
        report("valid: \(validCount) images, \(order.count) queries")

        let root = (output as NSString).appendingPathComponent("zeroshot/test")
        for label in 0..<10 {
            try FileManager.default.createDirectory(atPath: root + String(format: "/%03d", label), withIntermediateDirectories: true)
        }
        for index in 0..<testCount {
            let path = root + String(format: "/%03d/%06d.png", test.labels[index], 300_000 + index)
            try ImagePNG.encode(test.image(index), width: 28, height: 28).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        try save(FashionMNIST.classes.map { $0.name + "\n" }.joined(), "label_cn.txt")
        report("test: \(testCount) images in \(root)")
    }

    private func save(_ text: String, _ name: String) throws {
        let path = (output as NSString).appendingPathComponent(name)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DemoError.unreadable(path: path, reason: "cannot write: \(error)")
        }
    }
}
