import Checkpoint
import Tensor

/// AdamW state ⇄ the checkpoint's `optimizer` entry (torch 1.13's `optimizer.state_dict()`).
extension AdamW {
    /// The state as torch's AdamW saves it: two groups (no decay, decay) with the current learning rate and
    /// consecutive parameter indices, and per-parameter `step`, `exp_avg`, `exp_avg_sq`.
    public var checkpointState: AdamWCheckpointState {
        var first = 0
        let groupStates = groups.enumerated().map { groupIndex, group in
            defer { first += group.count }
            return AdamWCheckpointState.Group(weightDecay: groupIndex == 0 ? 0 : weightDecay, lr: learningRate,
                                              betas: (beta1, beta2), eps: eps, params: Array(first..<(first + group.count)))
        }
        let states = moments.keys.sorted().compactMap { index in
            moments[index].map {
                (index: index, state: AdamWCheckpointState.ParameterState(step: $0.step, expAvg: $0.expAvg,
                                                                           expAvgSq: $0.expAvgSq))
            }
        }
        return AdamWCheckpointState(states: states, groups: groupStates)
    }

    /// Restores moments and learning rate from a checkpoint's optimizer state.
    /// - Throws: `TrainingError.optimizerStateMismatch` when the groups or shapes differ from this optimizer's.
    public func restore(from state: AdamWCheckpointState) throws {
        let sizes = groups.map(\.count)
        guard state.groups.map(\.params.count) == sizes else {
            throw TrainingError.optimizerStateMismatch(
                "the checkpoint's groups hold \(state.groups.map(\.params.count)) parameters, the model trains \(sizes)")
        }
        var first = 0
        for (group, size) in zip(state.groups, sizes) {
            guard group.params == Array(first..<(first + size)) else {
                throw TrainingError.optimizerStateMismatch("group parameter indices \(group.params) are not consecutive")
            }
            first += size
        }
        var restored: [Int: Moments] = [:]
        for (index, parameter) in state.states {
            restored[index] = Moments(step: parameter.step, expAvg: parameter.expAvg, expAvgSq: parameter.expAvgSq)
        }
        try restore(moments: restored, learningRate: state.groups.first?.lr ?? learningRate)
    }
}
