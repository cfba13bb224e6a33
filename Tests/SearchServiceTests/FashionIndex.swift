import Foundation
import Models
import SearchIndex
import SearchService
import TestSupport
import XCTest

/// The Fashion-MNIST model `make demo` trains (a committed fixture) and its held-out images, indexed for real
/// by `ImageIndexer` in a temporary directory: the fixture for assertions on real rankings.
enum FashionIndex {
    static let fixture = Fixtures.url("search")
    /// Class folders `images/<label>-<name>` in label order.
    /// The demo model's token context (its README: context length 16).
    static let contextLength = 16
    static let classNames = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]

    static func model() throws -> LoadedCLIP {
        let checkpoint = fixture.appendingPathComponent("fashion-clip.safetensors")
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw Failure("missing fixture \(checkpoint.path) (Scripts/fixtures/make_search_fixture.sh makes it)")
        }
        let config = try ModelRegistry.config(contentsOf: fixture.appendingPathComponent("fashion-clip.config.json"))
        return try CLIPModel.load(config: config, checkpoint: checkpoint)
    }

    static let loaded: Result<LoadedCLIP, any Error> = Result { try model() }

    static func identity(_ loaded: LoadedCLIP) throws -> ModelIdentity {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try ImageIndexer.identity(visionModel: "fashion-vit", textModel: "fashion-bert",
                                         configJSON: String(decoding: try encoder.encode(loaded.model.config), as: UTF8.self),
                                         checkpoint: fixture.appendingPathComponent("fashion-clip.safetensors"))
    }

    /// Every fixture image path, sorted.
    static func imagePaths() throws -> [String] {
        let root = fixture.appendingPathComponent("images")
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        let paths = (enumerator?.compactMap { ($0 as? URL)?.path } ?? []).filter { $0.hasSuffix(".png") }.sorted()
        guard !paths.isEmpty else { throw Failure("no fixture images under \(root.path)") }
        return paths
    }

    /// Indexes `paths` into `directory` (created when new).
    static func add(_ paths: [String], to directory: URL) throws {
        let loaded = try self.loaded.get()
        let indexer = try ImageIndexer(directory: directory, embedder: CLIPImageEmbedder(loaded), model: try identity(loaded))
        let summary = try indexer.add(paths: paths)
        guard summary.failed.isEmpty else { throw Failure("indexing failed: \(summary.failed)") }
    }

    /// A fresh index of all fixture images in a temporary directory.
    static func build() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-fashion-\(UUID().uuidString)")
        try add(try imagePaths(), to: directory)
        return directory
    }

    /// The class name of an indexed path (`.../images/0-tshirt/x.png` → `tshirt`).
    static func className(_ path: String) -> String {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
        return String(folder.split(separator: "-", maxSplits: 1).last ?? "")
    }
}
