import Distributed
import Foundation
import Layers
import Models
import Tensor

extension Trainer {
    /// The start-up check of a run over several ranks: every rank must hold the same flags and model config, the
    /// same weights (from the same seed, pretrained files and checkpoint) and the same optimizer state, or the
    /// ranks would silently train different models. Throws `DistributedError.rankMismatch` naming the first rank
    /// that differs from rank 0, and what differs. (The reference's DDP broadcasts rank 0's weights instead, which
    /// hides a rank reading another checkpoint; here every rank loads, and disagreement is an error.)
    func checkRanksAgree() throws {
        guard group.isDistributed else { return }
        var flags = Digest64()
        for line in parameters.paramsLines(derived: [:]) { flags.combine(line + "\n") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(model.config).withUnsafeBytes { flags.combine($0) }
        var weights = Digest64()
        for entry in model.stateEntries() {
            weights.combine(entry.name)
            Self.combine(entry.tensor, into: &weights)
        }
        var optimizerState = Digest64()
        for index in step.optimizer.moments.keys.sorted() {
            guard let moments = step.optimizer.moments[index] else { continue }
            var header = [Float(index), moments.step]
            header.withUnsafeMutableBytes { optimizerState.combine(UnsafeRawBufferPointer($0)) }
            Self.combine(moments.expAvg, into: &optimizerState)
            Self.combine(moments.expAvgSq, into: &optimizerState)
        }
        try group.requireAgreement(
            [flags.value, weights.value, optimizerState.value],
            names: ["its training flags or model config (run the same command on every rank)",
                    "its model weights (initial seed, --clip-weight-path/--bert-weight-path files or --resume checkpoint)",
                    "its optimizer state (the --resume checkpoint)"])
    }

    private static func combine(_ tensor: Tensor, into digest: inout Digest64) {
        let values = tensor.contiguous()
        withExtendedLifetime(values) {
            digest.combine(UnsafeRawBufferPointer(start: values.storage.pointer + values.offset,
                                                  count: values.count * MemoryLayout<Float>.stride))
        }
    }
}
