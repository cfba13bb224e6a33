import Distributed
import Layers
import Models
import Tensor

/// DDP's buffer broadcast (`broadcast_buffers=True`, torch 1.13), which the reference's training runs under: before a
/// forward pass, when the previous forward pass carried gradient (or none has run yet), every rank's module buffers
/// (a ResNet tower's BatchNorm running statistics) are replaced by rank 0's. Each rank normalises a training batch
/// with its own batch statistics, so the running statistics drift apart between ranks; the broadcast pulls them back
/// to rank 0's before every training forward and before the first forward pass of a validation (DDP clears its flag
/// after a pass without gradient, so later validation batches and the gradient-free passes of `--accum-freq` after the
/// first do not broadcast). Rank 1's share of the validation totals therefore uses rank 0's statistics, as in the
/// reference. Towers without buffers (ViT, BERT) broadcast nothing; in a group of one this does nothing.
final class ModuleBufferBroadcast: @unchecked Sendable {
    private let group: Communicator
    private let buffers: [Tensor]
    /// DDP's `require_forward_param_sync`: true at construction and after a forward pass with gradient.
    private var broadcastBeforeNextForward = true

    init(group: Communicator, model: CLIPModel) {
        self.group = group
        buffers = group.isDistributed ? model.stateEntries().filter { $0.kind != .parameter }.map(\.tensor) : []
    }

    /// Runs one forward pass through the model (training, gradient-free caching or validation), `withGradient` saying
    /// whether it records gradient (DDP's grad-enabled check), with rank 0's buffers copied in first when DDP would.
    func forwardPass<Result>(withGradient: Bool, _ body: () throws -> Result) throws -> Result {
        if broadcastBeforeNextForward { try broadcast() }
        defer { broadcastBeforeNextForward = withGradient }
        return try body()
    }

    /// Replaces this rank's buffers by rank 0's.
    private func broadcast() throws {
        guard !buffers.isEmpty else { return }
        let values = group.rank == 0 ? buffers.flatMap { $0.contiguous().toArray() } : []
        let bytes = try group.broadcast(values.withUnsafeBytes { Array($0) }, root: 0)
        let expected = buffers.reduce(0) { $0 + $1.count }
        guard bytes.count == expected * MemoryLayout<Float>.size else {
            throw TrainingError.shapeMismatch("rank 0's module buffers (\(bytes.count) bytes) do not fit this rank's (\(expected) values)")
        }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            for buffer in buffers {
                let destination = UnsafeMutableRawPointer(buffer.storage.pointer + buffer.offset)
                destination.copyMemory(from: raw.baseAddress! + offset, byteCount: buffer.count * MemoryLayout<Float>.size)
                offset += buffer.count * MemoryLayout<Float>.size
            }
        }
    }
}
