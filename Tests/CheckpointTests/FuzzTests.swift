import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Seeded mutations of the committed fixtures (bit flips, truncations, insertions, length-field overwrites,
/// chunk deletions/duplications). Every input must give a value or a thrown error: no crash, hang or huge
/// allocation. Whole files exercise the ZIP and legacy paths; mutated `data.pkl`s re-wrapped with a correct CRC exercise
/// the unpickler. Longer runs: Scripts/fuzz (libFuzzer).
final class FuzzTests: XCTestCase {
    private static let mutationsPerSeed = 600

    func testMutatedTorchFilesGiveValuesOrErrors() throws {
        try assertMutatedTorchFilesGiveValuesOrErrors(
            ["state_dict.pt", "training.pt", "malicious.pt", "short_storage.pt"], in: "checkpoint", seed: 0xC0FFEE)
    }

    func testMutatedLegacyTorchFilesGiveValuesOrErrors() throws {
        try assertMutatedTorchFilesGiveValuesOrErrors(
            ["state_dict.pt", "storage_views.pt", "bert.pt", "training.pt", "forbidden_global.pt"], in: "legacyckpt",
            seed: 1001)
    }

    /// Whole-file mutations of the named torch fixtures through `TorchSerialization.read`: every mutation is judged,
    /// and the mix includes both outcomes (the fuzzer reaches the parser).
    private func assertMutatedTorchFilesGiveValuesOrErrors(_ names: [String], in directory: String, seed: UInt64,
                                                           file: StaticString = #filePath, line: UInt = #line) throws {
        var random = SeededGenerator(state: seed)
        var outcomes = Outcomes()
        for name in names {
            let original = [UInt8](try Fixtures.data("\(directory)/\(name)"))
            for _ in 0 ..< Self.mutationsPerSeed {
                let input = Data(Mutator.mutate(original, &random))
                outcomes.record { try exercise(Checkpoint(pickleValue: TorchSerialization.read(input, path: name),
                                                          path: name)) }
            }
        }
        XCTAssertEqual(outcomes.values + outcomes.errors, names.count * Self.mutationsPerSeed, file: file, line: line)
        XCTAssertGreaterThan(outcomes.errors, 0, file: file, line: line)
        XCTAssertGreaterThan(outcomes.values, 0, file: file, line: line)
    }

    func testMutatedPicklesGiveValuesOrErrors() throws {
        var random = SeededGenerator(state: 42)
        var outcomes = Outcomes()
        for name in ["state_dict.pt", "training.pt"] {
            let members = HandmadeArchive.members(of: try Fixtures.data("checkpoint/\(name)"))
            let pickle = try XCTUnwrap(members.first { $0.0.hasSuffix("/data.pkl") }).1
            for _ in 0 ..< 2 * Self.mutationsPerSeed {
                let mutated = Mutator.mutate(pickle, &random)
                let archive = HandmadeArchive.zip(members.map { $0.0.hasSuffix("/data.pkl") ? ($0.0, mutated) : $0 })
                outcomes.record { try exercise(Checkpoint(pickleValue: TorchSerialization.read(archive, path: name),
                                                          path: name)) }
            }
        }
        XCTAssertEqual(outcomes.values + outcomes.errors, 4 * Self.mutationsPerSeed)
        XCTAssertGreaterThan(outcomes.errors, 0)
        XCTAssertGreaterThan(outcomes.values, 0)
    }

    func testMutatedSafetensorsGiveValuesOrErrors() throws {
        var random = SeededGenerator(state: 7)
        var outcomes = Outcomes()
        let original = [UInt8](try Fixtures.data("checkpoint/state_dict.safetensors"))
        for _ in 0 ..< Self.mutationsPerSeed {
            let input = Data(Mutator.mutate(original, &random))
            outcomes.record {
                let (stateDict, _) = try SafeTensors.read(input, path: "fuzz.safetensors")
                try exercise(Checkpoint(layout: .bareStateDict, stateDict: stateDict))
            }
        }
        XCTAssertEqual(outcomes.values + outcomes.errors, Self.mutationsPerSeed)
        XCTAssertGreaterThan(outcomes.errors, 0)
    }

    /// Touches every tensor's values the way a model load would.
    private func exercise(_ checkpoint: Checkpoint) throws {
        for (_, tensor) in checkpoint.stateDict.entries where tensor.count <= 1 << 16 {
            _ = tensor.tensor()
            _ = tensor.int64Values()
        }
        if let optimizer = checkpoint.optimizer { _ = try? AdamWCheckpointState(pickleValue: optimizer, path: "fuzz") }
    }
}

/// Counts inputs that gave a value and inputs that threw a `CheckpointError` (any other error fails the test).
private struct Outcomes {
    var values = 0, errors = 0

    mutating func record(_ body: () throws -> Void) {
        do {
            try body()
            values += 1
        } catch is CheckpointError {
            errors += 1
        } catch {
            XCTFail("unexpected error type: \(error)")
        }
    }
}

/// The mutations libFuzzer-style fuzzers apply, driven by a seeded generator.
enum Mutator {
    private static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF,
                                                 0x8000_0000_0000_0000, .max, 1_000_000_000_000]

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0 ... random.next(3) {
            guard !bytes.isEmpty else { break }
            let at = random.next(bytes.count)
            switch random.next(6) {
            case 0: bytes[at] ^= UInt8(1) << UInt8(random.next(8))  // bit flip
            case 1: bytes.removeSubrange(random.next(bytes.count + 1)...)  // truncation
            case 2: bytes.insert(contentsOf: (0 ... random.next(8)).map { _ in UInt8(random.next(256)) }, at: at)
            case 3:  // a length or offset field set to an edge value
                let width = [1, 2, 4, 8][random.next(4)]
                let value = interesting[random.next(interesting.count)] &+ UInt64(random.next(3)) &- 1
                for i in 0 ..< min(width, bytes.count - at) { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            case 4: bytes.removeSubrange(at ..< min(bytes.count, at + 1 + random.next(64)))  // chunk deletion
            default:  // chunk duplication
                let chunk = bytes[at ..< min(bytes.count, at + 1 + random.next(64))]
                bytes.insert(contentsOf: chunk, at: random.next(bytes.count + 1))
            }
        }
        return bytes
    }
}

