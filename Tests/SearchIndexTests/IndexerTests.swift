import Foundation
import Models
import SearchIndex
import TestSupport
import XCTest

/// Indexing the committed Fashion-MNIST images with the model the demo trained: real rankings, incremental
/// re-runs, corrupt files, model mismatch, dataset imports.
final class IndexerTests: XCTestCase {
    private func makeIndexer(_ directory: URL, embedder: (any ImageEmbedder)? = nil) throws -> ImageIndexer {
        try ImageIndexer(directory: directory, embedder: embedder ?? CLIPImageEmbedder(SearchFixture.model()),
                         model: SearchFixture.identity())
    }

    func testTextQueriesRankTheirClassFirst() throws {
        let directory = try SearchFixture.temporaryDirectory("classes")
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try makeIndexer(directory).add(paths: [SearchFixture.imagesURL.path])
        XCTAssertEqual(summary.embedded, summary.found)
        XCTAssertTrue(summary.failed.isEmpty)
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertEqual(index.info.count, summary.found)
        XCTAssertEqual(index.info.dimension, 64)
        // The demo's caption style (Sources/Demo/FashionCaptions.swift): "一{measure}{tone}的{class}".
        // Tones as the fixture images have them (the model learned tone and class together).
        let queries = [("一件深色的T恤", "0-tshirt"), ("一条浅色的裤子", "1-trouser"), ("一条浅色的连衣裙", "3-dress"),
                       ("一双深色的凉鞋", "5-sandal"), ("一个浅色的包", "8-bag"), ("一双灰色的短靴", "9-boot")]
        for (text, folder) in queries {
            let hits = try index.search(SearchFixture.textFeature(text), k: 3)
            XCTAssertEqual(hits.count, 3)
            for hit in hits {
                XCTAssertTrue(hit.path.contains("/\(folder)/"), "\(text): \(hit.path) ranked in the top 3")
                XCTAssertEqual([hit.width, hit.height], [28, 28])
            }
        }
        // Search by an indexed image: its own feature finds itself first, then images of its class.
        let trouser = try XCTUnwrap(index.records().first { $0.path.contains("/1-trouser/") })
        let similar = try index.search(XCTUnwrap(index.feature(id: trouser.id)), k: 3)
        XCTAssertEqual(similar.first?.id, trouser.id)
        XCTAssertEqual(Double(similar.first?.score ?? 0), 1, accuracy: 1e-4)
        XCTAssertTrue(similar.allSatisfy { $0.path.contains("/1-trouser/") }, "\(similar.map(\.path))")
    }

    func testUnchangedFilesAreNotReembeddedAndChangedOnesAre() throws {
        let directory = try SearchFixture.temporaryDirectory("incremental")
        let images = try SearchFixture.temporaryDirectory("incremental-images")
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: images)
        }
        let files = try SearchFixture.copyImages(to: images, perClass: 2)
        let counter = CountingEmbedder(CLIPImageEmbedder(try SearchFixture.model()))
        var first = try makeIndexer(directory, embedder: counter).add(paths: [images.path])
        XCTAssertEqual(counter.count, files.count)
        XCTAssertEqual(first.embedded, files.count)

        // Nothing changed: nothing embedded.
        first = try makeIndexer(directory, embedder: counter).add(paths: [images.path])
        XCTAssertEqual(counter.count, files.count)
        XCTAssertEqual(first.unchanged, files.count)

        // Same bytes, new mtime: hashed, recorded, not embedded.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: files[0])
        // Changed bytes (another image's content): re-embedded under the same id.
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        let before = try XCTUnwrap(index.records().first { $0.path == files[1] })
        try FileManager.default.removeItem(atPath: files[1])
        try FileManager.default.copyItem(atPath: files.last!, toPath: files[1])
        let second = try makeIndexer(directory, embedder: counter).add(paths: [images.path])
        XCTAssertEqual(counter.count, files.count + 1)
        XCTAssertEqual(second.touched, 1)
        XCTAssertEqual(second.embedded, 1)
        XCTAssertEqual(second.unchanged, files.count - 2)
        try index.reload()
        let after = try XCTUnwrap(index.record(id: before.id))
        XCTAssertNotEqual(after.row, before.row)
        XCTAssertNotEqual(after.contentHash, before.contentHash)
        XCTAssertEqual(index.info.count, files.count)
        XCTAssertEqual(index.info.rows, files.count + 1, "the old row is a tombstone")
        // The new content is what is stored: it equals the feature of the file it was copied from.
        let source = try XCTUnwrap(index.records().first { $0.path == files.last! })
        // (Within float rounding: the two were embedded at different positions of different batches.)
        XCTAssertLessThan(maxAbsDifference(try XCTUnwrap(index.feature(id: after.id)), try XCTUnwrap(index.feature(id: source.id))), 1e-5)

        // Vanished files: reported, then dropped by --prune.
        try FileManager.default.removeItem(atPath: files[2])
        XCTAssertEqual(try index.vanishedPaths(), [files[2]])
        var options = ImageIndexer.Options()
        options.prune = true
        XCTAssertEqual(try makeIndexer(directory, embedder: counter).add(paths: [images.path], options: options).pruned, 1)
        try index.reload()
        XCTAssertEqual(try index.vanishedPaths(), [])
        XCTAssertEqual(index.info.count, files.count - 1)
    }

    func testCorruptFilesAreSkippedAndCounted() throws {
        let directory = try SearchFixture.temporaryDirectory("corrupt")
        let images = try SearchFixture.temporaryDirectory("corrupt-images")
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: images)
        }
        let files = try SearchFixture.copyImages(to: images, perClass: 1)
        try Data("not an image".utf8).write(to: images.appendingPathComponent("text.png"))
        let png = try Data(contentsOf: URL(fileURLWithPath: files[0]))
        try png.prefix(png.count / 2).write(to: images.appendingPathComponent("truncated.png"))
        let summary = try makeIndexer(directory).add(paths: [images.path])
        XCTAssertEqual(summary.embedded, files.count)
        XCTAssertEqual(Set(summary.failed.map { ($0.path as NSString).lastPathComponent }), ["text.png", "truncated.png"])
        XCTAssertTrue(summary.failed.allSatisfy { !$0.reason.isEmpty })
        XCTAssertEqual(try ImageIndex.open(directory: directory, readOnly: true).info.count, files.count)
    }

    func testAnotherModelIsRefusedNamingBoth() throws {
        let directory = try SearchFixture.temporaryDirectory("mismatch")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try makeIndexer(directory).add(paths: [SearchFixture.imagesURL.appendingPathComponent("0-tshirt").path])
        let other = ModelIdentity(visionModel: "ViT-B-16", textModel: "RoBERTa-wwm-ext-base-chinese", configJSON: "{}",
                                  checkpointPath: "/ckpt/other.pt", checkpointHash: String(repeating: "a", count: 64))
        XCTAssertThrowsError(try ImageIndexer(directory: directory, embedder: CLIPImageEmbedder(SearchFixture.model()), model: other)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("fashion-vit + fashion-bert"), message)
            XCTAssertTrue(message.contains("ViT-B-16 + RoBERTa-wwm-ext-base-chinese"), message)
        }
        let index = try ImageIndex.open(directory: directory, readOnly: true)
        XCTAssertThrowsError(try index.check(model: other))
        XCTAssertNoThrow(try index.check(model: SearchFixture.identity()))
    }

    func testDatasetsAreAddedByImageId() throws {
        let lmdbDirectory = try SearchFixture.temporaryDirectory("lmdb")
        let tsvDirectory = try SearchFixture.temporaryDirectory("tsv")
        defer {
            try? FileManager.default.removeItem(at: lmdbDirectory)
            try? FileManager.default.removeItem(at: tsvDirectory)
        }
        let tsv = Fixtures.url("dataset/small/test_imgs.tsv").path
        let ids = try String(contentsOfFile: tsv, encoding: .utf8).split(whereSeparator: \.isNewline).map { Int64($0.split(separator: "\t")[0])! }
        let counter = CountingEmbedder(CLIPImageEmbedder(try SearchFixture.model()))
        let fromTSV = try makeIndexer(tsvDirectory, embedder: counter).add(tsv: tsv)
        XCTAssertEqual(fromTSV.embedded, ids.count)
        let fromLMDB = try makeIndexer(lmdbDirectory).add(lmdbImages: Fixtures.url("dataset/small_lmdb/test/imgs").path)
        XCTAssertEqual(fromLMDB.embedded, ids.count)
        let byTSV = try ImageIndex.open(directory: tsvDirectory, readOnly: true)
        let byLMDB = try ImageIndex.open(directory: lmdbDirectory, readOnly: true)
        XCTAssertEqual(Set(try byTSV.records().map(\.id)), Set(ids))
        XCTAssertEqual(Set(try byLMDB.records().map(\.id)), Set(ids))
        for id in ids {
            // The LMDB was built from this TSV: same bytes, same features, same sizes.
            XCTAssertEqual(byTSV.record(id: id)?.contentHash, byLMDB.record(id: id)?.contentHash)
            // Same features up to float rounding (LMDB key order batches them differently from the TSV's line order).
            XCTAssertLessThan(maxAbsDifference(try XCTUnwrap(byTSV.feature(id: id)), try XCTUnwrap(byLMDB.feature(id: id))), 1e-5)
            XCTAssertEqual(try byTSV.imageData(id: id), try byLMDB.imageData(id: id))
        }
        // A second import embeds nothing.
        let again = try makeIndexer(tsvDirectory, embedder: counter).add(tsv: tsv)
        XCTAssertEqual(again.unchanged, ids.count)
        XCTAssertEqual(counter.count, ids.count)
    }
}
