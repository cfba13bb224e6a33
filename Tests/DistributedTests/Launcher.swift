import Foundation
import XCTest

/// Runs the built `cnclip` as one process or as `mpirun -np N` ranks on this machine (loopback only), each run
/// under a hard time limit so that a hang fails the test instead of stalling `make test`.
enum Launcher {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// Whether the time limit ended the run (`timeout`'s status; a run it had to kill is caught by the
        /// callers' elapsed-time checks, since 137 is also how mpirun reports a rank killed by signal 9).
        var timedOut: Bool { status == 124 }
    }

    /// `.build/<triple>/release/cnclip`, built next to the test bundle (`swift build --build-tests` builds it).
    static let cnclip: URL = {
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [bundle.appendingPathComponent("cnclip"),
                          bundle.deletingLastPathComponent().appendingPathComponent("cnclip")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    /// mpirun's options for ranks on this machine as root, over loopback TCP only.
    static func mpirun(ranks: Int) -> [String] {
        ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", String(ranks),
         "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]
    }

    /// Runs `cnclip arguments` (as `ranks` MPI ranks when given) with one thread per process; the run is ended
    /// after `timeout` seconds (SIGTERM, then SIGKILL 5 s later).
    static func run(_ arguments: [String], ranks: Int? = nil, timeout: Int = 120,
                    environment extra: [String: String] = [:]) throws -> Result {
        let command = (ranks.map(mpirun) ?? []) + [cnclip.path] + arguments
        return try execute(["timeout", "-k", "5", String(timeout)] + command, environment: extra)
    }

    /// Runs `command` (looked up on PATH), returning its status and outputs.
    static func execute(_ command: [String], environment extra: [String: String] = [:],
                        started: ((Process) -> Void)? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var environment = ProcessInfo.processInfo.environment
        environment["CNCLIP_NUM_THREADS"] = "1"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("launch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        started?(process)
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The pid of a running cnclip process whose environment says it is MPI rank `rank`.
    static func rankProcess(_ rank: Int) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                  let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                  command.hasPrefix(Launcher.cnclip.path),
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    /// Fails the test (with both outputs) unless `result` exited 0.
    static func requireSuccess(_ result: Result, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        if result.status != 0 {
            XCTFail("\(what) exited \(result.status)\(result.timedOut ? " (time limit)" : "")\n"
                    + "stdout:\n\(result.stdout.suffix(3000))\nstderr:\n\(result.stderr.suffix(6000))", file: file, line: line)
            throw LaunchFailed(what: what)
        }
    }

    private final class Marker {}
}

/// A launched command did not succeed (the details are in the test failure already recorded).
struct LaunchFailed: Error {
    let what: String
}
