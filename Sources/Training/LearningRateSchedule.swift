import Foundation

/// The reference's `cosine_lr` schedule as a pure function of the optimizer step s (0-based):
/// base·(s+1)/warmup during warm-up, then 0.5·(1 + cos(π·(s − warmup)/(total − warmup)))·base.
public struct CosineSchedule: Sendable, Equatable {
    public let baseLearningRate: Double
    public let warmupSteps: Int
    public let totalSteps: Int

    /// - Throws: `TrainingError.invalidHyperparameter` for a negative warm-up or total.
    public init(baseLearningRate: Double, warmupSteps: Int, totalSteps: Int) throws {
        guard warmupSteps >= 0, totalSteps >= 0 else {
            throw TrainingError.invalidHyperparameter("warmup \(warmupSteps) and total steps \(totalSteps) must not be negative")
        }
        self.baseLearningRate = baseLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The learning rate at step `step`, computed in double precision in the reference's operation order.
    public func learningRate(step: Int) -> Double {
        if step < warmupSteps { return baseLearningRate * Double(step + 1) / Double(warmupSteps) }
        let elapsed = Double(step - warmupSteps), span = Double(totalSteps - warmupSteps)
        return 0.5 * (1 + cos(Double.pi * elapsed / span)) * baseLearningRate
    }
}
