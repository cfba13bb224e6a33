import TestSupport
import Training
import XCTest

/// The sampler order against torch's DistributedSampler (Scripts/fixtures/gen_trainer.py), exactly.
final class SamplerOrderTests: XCTestCase {
    func testOrderMatchesTorchDistributedSampler() throws {
        let root = try XCTUnwrap(try Fixtures.json("trainer/sampler.json") as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 9)
        for item in cases {
            let n = try XCTUnwrap(item["n"] as? Int), seed = try XCTUnwrap(item["seed"] as? Int)
            let epoch = try XCTUnwrap(item["epoch"] as? Int), rank = try XCTUnwrap(item["rank"] as? Int)
            let world = try XCTUnwrap(item["world"] as? Int)
            let expected = try XCTUnwrap(item["order"] as? [Int])
            XCTAssertEqual(DistributedSamplerOrder.indices(count: n, seed: seed, epoch: epoch, rank: rank, worldSize: world),
                           expected, "n \(n) seed \(seed) epoch \(epoch) rank \(rank)/\(world)")
        }
    }

    func testMersenneTwisterMatchesTheStandardSequence() {
        // The 10000th output of std::mt19937 with the default seed 5489 is 4123659995 (C++ standard, [rand.predef]).
        var generator = MersenneTwister19937(seed: 5489)
        var value: UInt32 = 0
        for _ in 0..<10_000 { value = generator.next() }
        XCTAssertEqual(value, 4_123_659_995)
    }
}
