import Tensor
import XCTest

/// sum / mean / max / argmax over an axis (max checked with a tiny finite-difference step: it is exact and near-ties exist) and L2 normalisation against PyTorch (1e-5 × magnitude) and
/// finite differences (1e-2 relative).
final class ReductionTests: XCTestCase {
    func testReductionsAgainstPyTorch() throws {
        let f = try TensorFixture("reductions")
        let x = try f.tensor("x")
        try f.assertClose(try sum(x, axis: 1), "sum1")
        try f.assertClose(try mean(x, axis: -1), "mean_last")
        let (values, indices) = try max(x, axis: 1)
        try f.assertClose(values, "max1")
        XCTAssertEqual(indices, try f.ints("max1_indices"))
        XCTAssertEqual(try argmax(x, axis: -1), try f.ints("argmax_last"))
        XCTAssertEqual(try sum(x, axis: 1, keepDims: true).shape, [3, 1, 37])

        let gs = try f.tensor("sum1_g"), gm = try f.tensor("mean_last_g"), gx = try f.tensor("max1_g")
        let dSum = try sumBackward(gs, inputShape: x.shape, axis: 1)
        let dMean = try meanBackward(gm, inputShape: x.shape, axis: -1)
        let dMax = try maxBackward(gx, indices: indices, inputShape: x.shape, axis: 1)
        try f.assertClose(dSum, "sum1_dx")
        try f.assertClose(dMean, "mean_last_dx")
        try f.assertClose(dMax, "max1_dx")
        try assertMatchesFiniteDifferences(dSum, at: x, upstream: gs, "sum dx") { try sum($0, axis: 1) }
        try assertMatchesFiniteDifferences(dMean, at: x, upstream: gm, "mean dx") { try mean($0, axis: -1) }
        try assertMatchesFiniteDifferences(dMax, at: x, upstream: gx, step: 1e-5, "max dx") { try max($0, axis: 1).values }
        assertThrows(.invalidAxis(op: "sum", axis: 3, rank: 3)) { _ = try sum(x, axis: 3) }
    }

    func testL2NormalizeAgainstPyTorch() throws {
        let f = try TensorFixture("l2norm")
        let x = try f.tensor("x"), g = try f.tensor("g")
        let result = l2Normalize(x)
        try f.assertClose(result.output, "y")
        let dx = try l2NormalizeBackward(g, output: result.output, norms: result.norms)
        try f.assertClose(dx, "dx")
        try assertMatchesFiniteDifferences(dx, at: x, upstream: g, "l2Normalize dx") { l2Normalize($0).output }
    }
}
