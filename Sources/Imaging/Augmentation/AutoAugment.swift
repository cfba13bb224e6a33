/// What AutoAugment decided for one image: the sub-policy, and per step whether it applies and its sign.
public struct AutoAugmentChoice: Sendable, Equatable {
    /// Index into the policy.
    public var subPolicy: Int
    /// Per step of the sub-policy: whether it applies.
    public var applied: [Bool]
    /// Per step: whether a signed operation's argument is negated.
    public var negated: [Bool]

    /// A choice of `subPolicy` with its per-step decisions.
    public init(subPolicy: Int, applied: [Bool], negated: [Bool]) {
        self.subPolicy = subPolicy
        self.applied = applied
        self.negated = negated
    }
}

/// timm's `AutoAugment(policy)`: pick one sub-policy uniformly, then run its steps in order, each with its own
/// probability (a signed step also draws its sign).
public struct AutoAugment: Sendable {
    /// The sub-policies.
    public let policy: [[AugmentStep]]
    /// The colour Rotate/ShearX leave where the image moved away (`round(255 · mean)`).
    public let fill: [UInt8]

    /// AutoAugment over `policy` (default: the "original" ImageNet policy).
    public init(policy: [[AugmentStep]] = AutoAugmentPolicy.original, fill: [UInt8]) {
        self.policy = policy
        self.fill = fill
    }

    /// The decisions in timm's draw order: sub-policy `int(u · count)`; per step, a probability draw u (none when
    /// the probability is 1) applying the step unless u > probability, then for an applied signed step a draw
    /// that negates when u > 0.5.
    public func choose<Source: UniformSource>(using random: inout Source) -> AutoAugmentChoice {
        let index = min(policy.count - 1, Int(random.nextUniform() * Double(policy.count)))
        var applied: [Bool] = [], negated: [Bool] = []
        for step in policy[index] {
            let applies = step.probability >= 1 || !(random.nextUniform() > step.probability)
            applied.append(applies)
            negated.append(applies && step.operation.isSigned && random.nextUniform() > 0.5)
        }
        return AutoAugmentChoice(subPolicy: index, applied: applied, negated: negated)
    }

    /// `image` after the steps `choice` applies.
    public func apply(_ choice: AutoAugmentChoice, to image: RGBImage) -> RGBImage {
        var result = image
        for (position, step) in policy[choice.subPolicy].enumerated() where choice.applied[position] {
            let argument = step.argument.map { choice.negated[position] ? -$0 : $0 }
            result = step.operation.apply(to: result, argument: argument, fill: fill)
        }
        return result
    }
}
