import Tensor

/// A typed view of torch 1.13 AdamW's `optimizer.state_dict()` (§2.6): per-parameter `step` (a 0-dim fp32
/// tensor), `exp_avg`, `exp_avg_sq`, and the parameter groups with their hyperparameters and parameter indices.
public struct AdamWCheckpointState: Sendable {
    /// The moments of one parameter.
    public struct ParameterState: Sendable {
        public var step: Float
        public var expAvg: Tensor
        public var expAvgSq: Tensor

        public init(step: Float, expAvg: Tensor, expAvgSq: Tensor) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    /// One parameter group; `params` are indices numbering parameters consecutively across groups.
    public struct Group: Sendable, Equatable {
        public var weightDecay: Double
        public var lr: Double
        public var betas: (Double, Double)
        public var eps: Double
        public var amsgrad = false
        public var maximize = false
        public var capturable = false
        public var params: [Int]

        public init(weightDecay: Double, lr: Double, betas: (Double, Double), eps: Double, params: [Int]) {
            self.weightDecay = weightDecay
            self.lr = lr
            self.betas = betas
            self.eps = eps
            self.params = params
        }

        public static func == (lhs: Group, rhs: Group) -> Bool {
            lhs.weightDecay == rhs.weightDecay && lhs.lr == rhs.lr && lhs.betas == rhs.betas && lhs.eps == rhs.eps
                && lhs.amsgrad == rhs.amsgrad && lhs.maximize == rhs.maximize && lhs.capturable == rhs.capturable
                && lhs.params == rhs.params
        }
    }

    /// Per-parameter state by parameter index, in index order.
    public var states: [(index: Int, state: ParameterState)]
    /// The parameter groups in order.
    public var groups: [Group]

    public init(states: [(index: Int, state: ParameterState)], groups: [Group]) {
        self.states = states
        self.groups = groups
    }

    /// Reads an optimizer state dict as the reference saves it; `path` names the file in errors.
    public init(pickleValue: PickleValue, path: String) throws {
        func fail(_ reason: String) -> CheckpointError {
            .unexpectedContents(path: path, reason: "optimizer state: \(reason)")
        }
        guard let stateEntries = pickleValue["state"]?.entries, let groupValues = pickleValue["param_groups"]?.elements
        else { throw fail("needs 'state' and 'param_groups'") }
        states = try stateEntries.map { entry in
            guard let index = entry.key.intValue, let step = entry.value["step"],
                  let expAvg = entry.value["exp_avg"]?.tensorValue, let expAvgSq = entry.value["exp_avg_sq"]?.tensorValue
            else { throw fail("entry \(entry.key) lacks step, exp_avg or exp_avg_sq") }
            let stepValue = step.tensorValue.map { $0.floatValues().first ?? 0 } ?? step.doubleValue.map { Float($0) }
            guard let stepValue else { throw fail("entry \(index) has a non-numeric step") }
            return (index, ParameterState(step: stepValue, expAvg: expAvg.tensor(), expAvgSq: expAvgSq.tensor()))
        }
        groups = try groupValues.map { value in
            guard let weightDecay = value["weight_decay"]?.doubleValue, let lr = value["lr"]?.doubleValue,
                  let betas = value["betas"]?.elements?.compactMap(\.doubleValue), betas.count == 2,
                  let eps = value["eps"]?.doubleValue, let params = value["params"]?.elements?.compactMap(\.intValue)
            else { throw fail("a parameter group lacks weight_decay, lr, betas, eps or params") }
            var group = Group(weightDecay: weightDecay, lr: lr, betas: (betas[0], betas[1]), eps: eps, params: params)
            group.amsgrad = value["amsgrad"]?.boolValue ?? false
            group.maximize = value["maximize"]?.boolValue ?? false
            group.capturable = value["capturable"]?.boolValue ?? false
            return group
        }
    }

    /// The state dict as torch 1.13's AdamW spells it (keys in its order, `foreach` None).
    public var pickleValue: PickleValue {
        get throws {
            let state = try states.map { index, parameter in
                PickleDictEntry(.int(index), .dict([
                    PickleDictEntry(.string("step"), .tensor(try stored(Tensor(scalar: parameter.step)))),
                    PickleDictEntry(.string("exp_avg"), .tensor(try stored(parameter.expAvg))),
                    PickleDictEntry(.string("exp_avg_sq"), .tensor(try stored(parameter.expAvgSq))),
                ], ordered: false))
            }
            let groups = groups.map { group in
                PickleValue.dict([
                    PickleDictEntry(.string("weight_decay"), .float(group.weightDecay)),
                    PickleDictEntry(.string("lr"), .float(group.lr)),
                    PickleDictEntry(.string("betas"), .tuple([.float(group.betas.0), .float(group.betas.1)])),
                    PickleDictEntry(.string("eps"), .float(group.eps)),
                    PickleDictEntry(.string("amsgrad"), .bool(group.amsgrad)),
                    PickleDictEntry(.string("foreach"), .none),
                    PickleDictEntry(.string("maximize"), .bool(group.maximize)),
                    PickleDictEntry(.string("capturable"), .bool(group.capturable)),
                    PickleDictEntry(.string("params"), .list(group.params.map { .int($0) })),
                ], ordered: false)
            }
            return .dict([PickleDictEntry(.string("state"), .dict(state, ordered: false)),
                          PickleDictEntry(.string("param_groups"), .list(groups))], ordered: false)
        }
    }

    private func stored(_ tensor: Tensor) throws -> StoredTensor {
        do { return try StoredTensor(tensor) } catch {
            throw CheckpointError.unsupportedConversion(key: "optimizer state", reason: "\(error)")
        }
    }
}
