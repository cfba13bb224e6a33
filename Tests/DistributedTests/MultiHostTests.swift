import Checkpoint
import Foundation
import SearchIndex
import TestSupport
import XCTest

/// The 2-rank equality with each rank on its own "machine": two network namespaces joined by a veth pair
/// (10.231.0.1 and 10.231.0.2, addresses that exist only inside them), mpirun in the first, and its remote launch
/// agent (ssh on a cluster) replaced by `ip netns exec` into the second, so MPI's wire-up and the gradient traffic
/// cross a real network interface. Needs root and iproute2 (`make test-multihost` runs only this); the
/// namespaces are removed afterwards.
final class MultiHostTests: ScratchDirectoryTestCase {
    private var namespaces: [String] = []

    override func tearDownWithError() throws {
        for namespace in namespaces { _ = try? Launcher.execute(["ip", "netns", "del", namespace]) }
        try super.tearDownWithError()
    }

    func testTwoNamespacesMatchOneProcess() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip")
        else { throw XCTSkip("needs root and iproute2 to create network namespaces") }
        let tag = String(ProcessInfo.processInfo.processIdentifier % 100_000)
        let (first, second) = ("cnclip\(tag)a", "cnclip\(tag)b")
        let (veth0, veth1) = ("cnv\(tag)a", "cnv\(tag)b")
        for command in [["ip", "netns", "add", first], ["ip", "netns", "add", second]] {
            try Launcher.requireSuccess(try Launcher.execute(command), command.joined(separator: " "))
            namespaces.append(command[3])
        }
        for command in [
            ["ip", "link", "add", veth0, "type", "veth", "peer", "name", veth1],
            ["ip", "link", "set", veth0, "netns", first], ["ip", "link", "set", veth1, "netns", second],
            ["ip", "-n", first, "addr", "add", "10.231.0.1/24", "dev", veth0],
            ["ip", "-n", second, "addr", "add", "10.231.0.2/24", "dev", veth1],
            ["ip", "-n", first, "link", "set", veth0, "up"], ["ip", "-n", second, "link", "set", veth1, "up"],
            ["ip", "-n", first, "link", "set", "lo", "up"], ["ip", "-n", second, "link", "set", "lo", "up"],
        ] {
            try Launcher.requireSuccess(try Launcher.execute(command), command.joined(separator: " "))
        }
        // The launch agent mpirun calls as it would call ssh: `agent HOST COMMAND…`, run inside HOST's namespace.
        let agent = directory.appendingPathComponent("netns-agent.sh")
        try """
            #!/bin/sh
            host=$1; shift
            case $host in
              10.231.0.1) namespace=\(first) ;;
              10.231.0.2) namespace=\(second) ;;
              *) echo "netns-agent: unknown host $host" >&2; exit 1 ;;
            esac
            exec ip netns exec "$namespace" /bin/sh -c "$*"

            """.write(to: agent, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent.path)

        let batch = directory.appendingPathComponent("batch.pt")
        try TestBatch.write(to: batch, rows: 8, resolution: 32, seed: 5)
        let name = "train-vit-bert2"
        let common = ["train-step-dump", "--vision-model", "ViT-B-16",
                      "--model-config", Fixtures.url("training/\(name).config.json").path,
                      "--resume", Fixtures.url("training/\(name).init.pt").path, "--batch", batch.path,
                      "--steps", "3", "--lr", "1e-3", "--warmup", "2", "--max-steps", "10"]
        let twoPath = directory.appendingPathComponent("two.pt"), onePath = directory.appendingPathComponent("one.pt")
        /// `cnclip arguments` as rank 0 in the first namespace and rank 1 in the second.
        func acrossNamespaces(_ arguments: [String]) throws -> Launcher.Result {
            try Launcher.execute(
                ["ip", "netns", "exec", first, "timeout", "-k", "5", "180", "mpirun", "--allow-run-as-root", "--oversubscribe",
                 "--host", "10.231.0.1:1,10.231.0.2:1", "-np", "2", "--mca", "plm_rsh_agent", agent.path,
                 "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "10.231.0.0/24",
                 "--mca", "oob_tcp_if_include", "10.231.0.0/24", "-x", "CNCLIP_NUM_THREADS",
                 Launcher.cnclip.path] + arguments)
        }
        let before = try transmittedBytes(first, veth0)
        let two = try acrossNamespaces(common + ["--gather-with-grad", "--output", twoPath.path])
        try Launcher.requireSuccess(two, "2 ranks in 2 namespaces")
        let sent = try transmittedBytes(first, veth0) - before
        // Three steps of gradient averaging (the tiny model's gradients are tens of kB) crossed the veth pair.
        XCTAssertGreaterThan(sent, 50_000, "the ranks did not talk over \(veth0)")
        let one = try Launcher.run(common + ["--output", onePath.path], timeout: 180)
        try Launcher.requireSuccess(one, "1-process dump")
        let a = try Checkpoint.load(contentsOf: twoPath).stateDict, b = try Checkpoint.load(contentsOf: onePath).stateDict
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for key in b.keys.sorted() where key != "lr" {
            let error = relativeDifference(key, try XCTUnwrap(a[key]).floatValues(), try XCTUnwrap(b[key]).floatValues())
            XCTAssertLessThanOrEqual(error, 1e-5, "\(key) differs by \(error)")
        }

        // A sharded index add across the two "machines" (the folder stands for shared storage): the same records
        // and feature bytes as one process.
        let images = directory.appendingPathComponent("images")
        try FileManager.default.copyItem(at: Fixtures.url("search/images/3-dress"), to: images.appendingPathComponent("dress"))
        try FileManager.default.copyItem(at: Fixtures.url("search/images/8-bag"), to: images.appendingPathComponent("bag"))
        let model = ["--model-config", Fixtures.url("search/fashion-clip.config.json").path, "--vision-model", "fashion-vit",
                     "--text-model", "fashion-bert", "--resume", Fixtures.url("search/fashion-clip.safetensors").path]
        let indexes = (directory.appendingPathComponent("index-two"), directory.appendingPathComponent("index-one"))
        try Launcher.requireSuccess(try acrossNamespaces(["index", "add", "--index", indexes.0.path, "--batch-size", "4"]
                                                         + model + [images.path]), "index add in 2 namespaces")
        try Launcher.requireSuccess(try Launcher.run(["index", "add", "--index", indexes.1.path, "--batch-size", "4"]
                                                     + model + [images.path]), "index add in 1 process")
        let shared = try ImageIndex.open(directory: indexes.0, readOnly: true), single = try ImageIndex.open(directory: indexes.1, readOnly: true)
        let records = try single.records()
        XCTAssertEqual(try shared.records().map(\.path), records.map(\.path))
        XCTAssertGreaterThan(records.count, 8)
        for record in records { XCTAssertEqual(shared.feature(id: record.id), single.feature(id: record.id), record.path) }
    }

    /// Bytes sent through `device` in `namespace` (from sysfs inside the namespace).
    private func transmittedBytes(_ namespace: String, _ device: String) throws -> Int {
        let result = try Launcher.execute(["ip", "netns", "exec", namespace, "cat", "/sys/class/net/\(device)/statistics/tx_bytes"])
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
