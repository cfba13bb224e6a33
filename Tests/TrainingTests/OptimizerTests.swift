import Checkpoint
import Foundation
import Layers
import Models
import Tensor
import TestSupport
import Training
import XCTest

/// AdamW state, parameter groups, schedule and clamp against the reference's optimizer state dict
/// (Scripts/fixtures/gen_training.py, ViT config, after five steps) and values computed with Python/numpy.
final class OptimizerTests: XCTestCase {
    func testOptimizerStateMatchesTheReferenceAndRoundTrips() throws {
        let fixture = try TrainingFixture("train-vit-bert2", variant: "plain")
        let trainer = try fixture.trainingStep()
        for step in 0..<5 { _ = try trainer.run(step: step, images: fixture.images, tokens: fixture.tokens) }
        let reference = try AdamWCheckpointState(pickleValue: try XCTUnwrap(fixture.results.optimizer), path: "plain.pt")
        let ours = trainer.optimizer.checkpointState
        XCTAssertEqual(ours.groups.count, 2)
        for (mine, theirs) in zip(ours.groups, reference.groups) {
            XCTAssertEqual(mine.params, theirs.params)
            XCTAssertEqual(mine.weightDecay, theirs.weightDecay)
            XCTAssertEqual(mine.eps, theirs.eps)
            XCTAssertEqual(mine.betas.0, theirs.betas.0)
            XCTAssertEqual(mine.betas.1, theirs.betas.1)
            XCTAssertEqual(mine.lr, theirs.lr, accuracy: 1e-15)
        }
        XCTAssertEqual(ours.states.map(\.index), reference.states.map(\.index))
        let names = trainer.optimizer.parameters.map(\.name)
        for (mine, theirs) in zip(ours.states, reference.states) {
            XCTAssertEqual(mine.state.step, theirs.state.step)
            if names[mine.index].contains("key.bias") || names[mine.index].contains("in_proj_bias") { continue }
            XCTAssertLessThanOrEqual(relativeError(mine.state.expAvg.toArray(), theirs.state.expAvg.toArray()), 1e-4, names[mine.index])
            XCTAssertLessThanOrEqual(relativeError(mine.state.expAvgSq.toArray(), theirs.state.expAvgSq.toArray()), 2e-4, names[mine.index])
        }
        // Restoring the reference's state into a fresh optimizer gives it back unchanged.
        let fresh = try TrainingFixture("train-vit-bert2", variant: "plain").trainingStep()
        try fresh.optimizer.restore(from: reference)
        let restored = fresh.optimizer.checkpointState
        XCTAssertEqual(restored.groups, reference.groups)
        for (mine, theirs) in zip(restored.states, reference.states) {
            XCTAssertEqual(mine.index, theirs.index)
            XCTAssertEqual(mine.state.expAvg.toArray(), theirs.state.expAvg.toArray())
        }
    }

    func testRestoreRejectsAStateOfAnotherModel() throws {
        let fixture = try TrainingFixture("train-vit-bert2", variant: "plain")
        let trainer = try fixture.trainingStep()
        let state = AdamWCheckpointState(states: [], groups: [
            .init(weightDecay: 0, lr: 1, betas: (0.9, 0.98), eps: 1e-6, params: [0, 1])])
        XCTAssertThrowsError(try trainer.optimizer.restore(from: state)) { error in
            XCTAssertTrue("\(error)".contains("groups hold"), "\(error)")
        }
    }

    func testParameterGroupsUseSubstringsOfThePrefixedNames() {
        let names = ["logit_scale", "visual.ln_pre.weight", "visual.layer1.0.bn1.weight", "visual.layer1.0.downsample.1.weight",
                     "bert.embeddings.LayerNorm.weight", "bert.encoder.layer.0.output.dense.bias", "visual.proj",
                     "visual.class_embedding", "text_projection"]
        let entries = names.map { StateEntry($0, Tensor(zeros: [1])) }
        let groups = ParameterGroups.split(entries)
        XCTAssertEqual(groups[0].map(\.name), ["module.logit_scale", "module.visual.ln_pre.weight",
                                               "module.visual.layer1.0.bn1.weight",
                                               "module.bert.encoder.layer.0.output.dense.bias"])
        XCTAssertEqual(groups[1].map(\.name), ["module.visual.layer1.0.downsample.1.weight",
                                               "module.bert.embeddings.LayerNorm.weight", "module.visual.proj",
                                               "module.visual.class_embedding", "module.text_projection"])
    }

    func testScheduleMatchesTheReferenceValues() throws {
        // numpy: [base*(s+1)/warmup if s < warmup else 0.5*(1+np.cos(np.pi*(s-warmup)/(total-warmup)))*base]
        let schedule = try CosineSchedule(baseLearningRate: 5e-4, warmupSteps: 500, totalSteps: 2000)
        XCTAssertEqual(schedule.learningRate(step: 0), 1e-06)
        XCTAssertEqual(schedule.learningRate(step: 499), 0.0005)
        XCTAssertEqual(schedule.learningRate(step: 500), 0.0005)
        XCTAssertEqual(schedule.learningRate(step: 1234), 0.00025837601257526786, accuracy: 1e-19)
        XCTAssertEqual(schedule.learningRate(step: 2000), 0)
        XCTAssertThrowsError(try CosineSchedule(baseLearningRate: 1, warmupSteps: -1, totalSteps: 3))
    }

    func testLogitScaleIsClampedAfterEveryStep() throws {
        let fixture = try TrainingFixture("train-vit-bert2", variant: "plain")
        let trainer = try fixture.trainingStep()
        let value = fixture.model.logitScale.storage.pointer
        value.pointee = 7
        trainer.clampLogitScale()
        XCTAssertEqual(value.pointee, 4.6052)
        value.pointee = -1
        trainer.clampLogitScale()
        XCTAssertEqual(value.pointee, 0)
    }
}
