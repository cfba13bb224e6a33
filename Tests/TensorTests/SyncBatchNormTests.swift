import Foundation
import Synchronization
import Tensor
import XCTest

/// `syncBatchNorm2d` over two replicas (two threads, each holding part of the batch, joined by an in-memory sum)
/// against `batchNorm2d` over the whole batch: outputs, running statistics and dx agree, and the replicas' local
/// dweight/dbias add up to the whole batch's.
final class SyncBatchNormTests: XCTestCase {
    func testTwoReplicasEqualOneBatch() throws {
        try compare(split: 2)
    }

    func testUnevenReplicasEqualOneBatch() throws {
        try compare(split: 1)
    }

    private func compare(split: Int) throws {
        let shape = [4, 3, 5, 5]
        let count = shape.reduce(1, *)
        var state: UInt64 = 99
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 11) / Double(1 << 53)) * 4 - 1.5
        }
        let x = try Tensor(shape: shape, data: (0..<count).map { _ in random() })
        let grad = try Tensor(shape: shape, data: (0..<count).map { _ in random() })
        let weight = try Tensor(shape: [3], data: [0.5, 1.5, -1]), bias = try Tensor(shape: [3], data: [0.1, -0.2, 0.3])
        @Sendable func statistics() throws -> (Tensor, Tensor) {
            (try Tensor(shape: [3], data: [0.2, -0.1, 0]), try Tensor(shape: [3], data: [1, 0.5, 2]))
        }
        let (fullMean, fullVar) = try statistics()
        let full = try batchNorm2d(x, weight: weight, bias: bias, runningMean: fullMean, runningVar: fullVar, training: true)
        let fullGrad = try batchNorm2dBackward(grad, input: x, weight: weight, mean: full.mean, invStd: full.invStd,
                                               training: true)

        let sum = PairSum()
        let ranges = [0..<split, split..<shape[0]]
        let results = Mutex<[Int: [[Float]]]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { replica in
            do {
                let part = try x.sliced(axis: 0, range: ranges[replica]).contiguous()
                let partGrad = try grad.sliced(axis: 0, range: ranges[replica]).contiguous()
                let (mean, variance) = try statistics()
                let forward = try syncBatchNorm2d(part, weight: weight, bias: bias, runningMean: mean, runningVar: variance,
                                                  replicas: sum.replica(replica))
                let backward = try syncBatchNorm2dBackward(partGrad, input: part, weight: weight, mean: forward.mean,
                                                           invStd: forward.invStd, replicas: sum.replica(replica))
                // output, dx, dweight, dbias, batch mean, running mean, running variance
                let stored = [forward.output.toArray(), backward.input.toArray(), backward.weight.toArray(),
                              backward.bias.toArray(), forward.mean.toArray(), mean.toArray(), variance.toArray()]
                results.withLock { $0[replica] = stored }
            } catch {
                failures.withLock { $0.append("replica \(replica): \(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let parts = results.withLock { $0 }
        let first = try XCTUnwrap(parts[0]), second = try XCTUnwrap(parts[1])
        assertValuesClose(first[0] + second[0], full.output.toArray(), tolerance: 1e-5, "output")
        assertValuesClose(first[1] + second[1], fullGrad.input.toArray(), tolerance: 1e-5, "dx")
        for replica in [first, second] {
            assertValuesClose(replica[4], full.mean.toArray(), tolerance: 1e-6, "batch mean")
            assertValuesClose(replica[5], fullMean.toArray(), tolerance: 1e-6, "running mean")
            assertValuesClose(replica[6], fullVar.toArray(), tolerance: 1e-6, "running variance")
        }
        assertValuesClose(zip(first[2], second[2]).map { $0 + $1 }, fullGrad.weight.toArray(), tolerance: 1e-4,
                          "dweight summed over replicas")
        assertValuesClose(zip(first[3], second[3]).map { $0 + $1 }, fullGrad.bias.toArray(), tolerance: 1e-4,
                          "dbias summed over replicas")
    }
}

/// An all-reduce between two threads: each call waits for the other replica's matching call, and both get the
/// element-wise sum (added in replica order, so both see the same bits).
private final class PairSum: @unchecked Sendable {
    private let condition = NSCondition()
    private var deposited: [Int: [Double]] = [:]
    private var collected = 0
    private var result: [Double] = []
    private var generation = 0

    struct Replica: ReplicaSum {
        let owner: PairSum
        let index: Int
        func sumAcrossReplicas(_ values: UnsafeMutableBufferPointer<Double>) throws { owner.exchange(values, index) }
    }

    func replica(_ index: Int) -> Replica { Replica(owner: self, index: index) }

    fileprivate func exchange(_ values: UnsafeMutableBufferPointer<Double>, _ index: Int) {
        condition.lock()
        defer { condition.unlock() }
        let round = generation
        deposited[index] = Array(values)
        if deposited.count == 2 {
            result = zip(deposited[0]!, deposited[1]!).map { $0 + $1 }
            deposited.removeAll()
            generation += 1
            condition.broadcast()
        } else {
            while generation == round { condition.wait() }
        }
        for position in values.indices { values[position] = result[position] }
    }
}
