import Foundation
import Retrieval
import XCTest

/// What a ranking computed from our features may promise about the reference's ranking, whose features differ from
/// ours by rounding: items whose reference scores lie further apart than `tolerance` keep their order; items within
/// a near-tie (a run of reference scores each within `tolerance` of the next) may come in any order among themselves.
///
/// `tolerance` is derived, not guessed: if every score of ours is within `ε` of the reference's score for the same
/// pair (measured exactly, in Double, from the two feature files), two items whose reference scores differ by more
/// than `2ε` cannot swap; our top-k scores them in fp32, which adds at most `d·u·|q||g|` per score (`u = 2⁻²⁴`,
/// the classic bound for a length-d dot product), so the gap must exceed `2(ε + d·u·max|q||g|)`.
struct NearTieRanking {
    /// Reference score of every (query, gallery item), in Double.
    let referenceScores: [[Double]]
    let galleryIDs: [Int64]
    let tolerance: Double

    /// Scores both feature sets in Double and derives the tolerance from their largest score difference.
    init(referenceQueries: [FeatureRecord], referenceGallery: [FeatureRecord],
         ourQueries: [FeatureRecord], ourGallery: [FeatureRecord]) throws {
        XCTAssertEqual(referenceQueries.map(\.id), ourQueries.map(\.id))
        XCTAssertEqual(referenceGallery.map(\.id), ourGallery.map(\.id))
        let reference = Self.scores(referenceQueries, referenceGallery)
        let ours = Self.scores(ourQueries, ourGallery)
        var largestDifference = 0.0
        var largestMagnitude = 0.0
        for (row, ourRow) in zip(reference, ours) {
            for (a, b) in zip(row, ourRow) { largestDifference = max(largestDifference, abs(a - b)) }
        }
        for query in ourQueries {
            for item in ourGallery {
                largestMagnitude = max(largestMagnitude, Self.norm(query.feature) * Self.norm(item.feature))
            }
        }
        let dimension = Double(ourQueries.first?.feature.count ?? 0)
        let roundingBound = dimension * 0x1p-24 * largestMagnitude
        referenceScores = reference
        galleryIDs = referenceGallery.map(\.id)
        tolerance = 2 * (largestDifference + roundingBound)
    }

    /// Runs of gallery indices, best first, whose consecutive reference scores are within `tolerance`.
    func nearTieGroups(query: Int) -> [[Int]] {
        let order = referenceScores[query].indices.sorted {
            referenceScores[query][$0] > referenceScores[query][$1]
                || (referenceScores[query][$0] == referenceScores[query][$1] && $0 < $1)
        }
        var groups: [[Int]] = []
        for index in order {
            if let last = groups.last?.last, referenceScores[query][last] - referenceScores[query][index] <= tolerance {
                groups[groups.count - 1].append(index)
            } else {
                groups.append([index])
            }
        }
        return groups
    }

    /// Checks that `predicted` (gallery ids, best first, length ≤ the gallery) is a ranking the reference's scores
    /// allow: position by position it walks the near-tie groups in order, each group's members in any order; the
    /// last group may be cut by k.
    func assertAllowed(_ predicted: [Int64], query: Int, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        var remaining = predicted[...]
        for group in nearTieGroups(query: query) where !remaining.isEmpty {
            let ids = Set(group.map { galleryIDs[$0] })
            let taken = remaining.prefix(group.count)
            XCTAssertTrue(Set(taken).isSubset(of: ids),
                          "\(message): positions \(predicted.count - remaining.count)… \(Array(taken)) are not the near-tie group \(ids.sorted())",
                          file: file, line: line)
            remaining = remaining.dropFirst(group.count)
        }
    }

    /// Every id set that a ranking allowed by `assertAllowed` can put in its first `k` places.
    func possibleTopSets(query: Int, k: Int) -> (certain: Set<Int64>, possible: Set<Int64>) {
        var certain = Set<Int64>()
        var seen = 0
        for group in nearTieGroups(query: query) {
            let ids = group.map { galleryIDs[$0] }
            if seen + group.count <= k {
                certain.formUnion(ids)
                seen += group.count
            } else {
                return (certain, certain.union(seen < k ? ids : []))
            }
        }
        return (certain, certain)
    }

    private static func scores(_ queries: [FeatureRecord], _ gallery: [FeatureRecord]) -> [[Double]] {
        queries.map { query in
            gallery.map { item in zip(query.feature, item.feature).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        }
    }

    private static func norm(_ values: [Float]) -> Double {
        values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
}
