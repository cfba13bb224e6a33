import Foundation
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
}
