import Foundation
import SearchIndex
import SearchService
import XCTest

/// The search page in headless Chromium: type a query and press Enter, see the expected top image, click it and
/// see the images similar to it; pages load more on scroll.
final class WebPageTests: XCTestCase {
    func testTypeQueryThenClickForSimilarImages() async throws {
        let backend = TestGallery.backend
        let server = try await TestServer.start(model: TestGallery.model, backend: backend)
        defer { Task { await server.stop() } }
        let browser = try Chromium()
        defer { browser.close() }

        try browser.open(server.base + "/")
        try browser.wait(for: "document.getElementById('index-info').dataset.rows === '\(backend.images.count)'")
        let info = try browser.evaluate("document.getElementById('index-info').textContent") as? String ?? ""
        XCTAssertTrue(info.contains("\(backend.images.count) 张图片") && info.contains("tiny-vit-bert2"), info)

        let query = "一张彩色的照片"
        let expected = backend.ranking(try TestGallery.textFeature(query))
        _ = try browser.evaluate("document.getElementById('query').focus()")
        try browser.type(query, pressEnter: true)
        try browser.wait(for: "document.getElementById('results').dataset.state === 'done'")
        XCTAssertEqual(try browser.evaluate("location.search") as? String,
                       "?q=" + query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        let shown = try browser.evaluate("[...document.querySelectorAll('#results .card')].map(c => Number(c.dataset.id))") as? [NSNumber]
        XCTAssertEqual(shown?.first?.int64Value, expected[0].image.id, "the top image on the page is the best match")
        XCTAssertEqual(shown?.map(\.int64Value), expected.prefix(24).map(\.image.id))
        try browser.wait(for: "[...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)")

        let clicked = expected[2].image.id
        try browser.click("#results .card[data-id='\(clicked)']")
        try browser.wait(for: "location.search === '?similar=\(clicked)' && document.getElementById('results').dataset.state === 'done'")
        let similar = try browser.evaluate("[...document.querySelectorAll('#results .card')].map(c => Number(c.dataset.id))") as? [NSNumber]
        let feature = try XCTUnwrap(try backend.feature(id: clicked))
        XCTAssertEqual(similar?.map(\.int64Value), backend.ranking(feature).prefix(24).map(\.image.id))
        XCTAssertEqual(similar?.first?.int64Value, clicked, "an image is most similar to itself")
        let status = try browser.evaluate("document.getElementById('status').textContent") as? String ?? ""
        XCTAssertTrue(status.contains("相似"), status)
    }

    /// The same journey on the trained Fashion-MNIST model and a real index: 深色的T恤 shows a T-shirt first, and
    /// clicking it shows T-shirts.
    func testFashionPageFindsTShirtsAndSimilarOnes() async throws {
        let directory = try FashionIndex.build()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await TestServer.start(model: try FashionIndex.loaded.get(),
                                                backend: IndexBackend(try ImageIndex.open(directory: directory, readOnly: true)),
                                                contextLength: FashionIndex.contextLength)
        defer { Task { await server.stop() } }
        let browser = try Chromium(width: 420, height: 860)   // a phone-sized window
        defer { browser.close() }
        try browser.open(server.base + "/")
        try browser.wait(for: "document.getElementById('index-info').dataset.rows !== undefined")
        _ = try browser.evaluate("document.getElementById('query').focus()")
        try browser.type("深色的T恤", pressEnter: true)
        try browser.wait(for: "document.getElementById('results').dataset.state === 'done'")
        let paths = try browser.evaluate("[...document.querySelectorAll('#results .card')].map(c => c.dataset.path)") as? [String] ?? []
        XCTAssertEqual(paths.first.map(FashionIndex.className), "tshirt", "\(paths.prefix(5))")
        let columns = try browser.evaluate(
            "getComputedStyle(document.getElementById('results')).gridTemplateColumns.split(' ').length") as? Int
        XCTAssertEqual(columns, 2, "two columns on a phone")

        try browser.click("#results .card")
        try browser.wait(for: "location.search.startsWith('?similar=') && document.getElementById('results').dataset.state === 'done'")
        let similar = try browser.evaluate("[...document.querySelectorAll('#results .card')].map(c => c.dataset.path)") as? [String] ?? []
        XCTAssertEqual(similar.first, paths.first, "the clicked image comes first")
        let tshirts = similar.prefix(6).filter { FashionIndex.className($0) == "tshirt" }.count
        XCTAssertGreaterThanOrEqual(tshirts, 4, "\(similar.prefix(6).map(FashionIndex.className))")

        // Scrolling to the end loads the next page (24 per page).
        let before = try browser.evaluate("document.querySelectorAll('#results .card').length") as? Int ?? 0
        XCTAssertEqual(before, 24)
        _ = try browser.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        try browser.wait(for: "document.querySelectorAll('#results .card').length > 24")
    }
}
