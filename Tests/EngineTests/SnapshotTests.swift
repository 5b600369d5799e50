import Engine
import Foundation
import Hypervisor
import Naming
import Testing

/// `snapshot` on libvirt's test driver: a running host's folder, sealed, with the host running on;
/// refusals before anything is paused.
@Suite struct SnapshotTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    static func topology(_ name: String) -> String {
        """
        name: \(name)
        images:
          k: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
        networks:
          lan: { cidr: 10.131.0.0/24 }
        hosts:
          a: { image: k, memory: 128MiB, interfaces: [{ network: lan }] }
          b: { image: k, memory: 128MiB, interfaces: [{ network: lan }] }
        """
    }

    static func scratch() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-snapshots-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The test driver dumps no memory-only core (the lab's end-to-end test takes real snapshots):
    /// a snapshot whose dump fails resumes its host and leaves no folder behind.
    @Test func aSnapshotThatFailsResumesItsHostAndLeavesNothing() async throws {
        let name = uniqueName("snap")
        try await apply(Self.topology(name), hypervisor: hypervisor)
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        await #expect { try await Snapshotter.snapshot(environment: name, hosts: ["a"], directory: directory, hypervisor: hypervisor) } throws: { error in
            "\(error)".contains("dump memory of \(name)-a")
        }
        #expect(try await hypervisor.domainState(name: Naming.object(environment: name, name: "a")) == .running, "resumed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func theRecordHasTheContractsKeys() throws {
        let written = #"{"host": "pc", "taken": "1970-01-01T00:00:00Z", "paused_ms": 812, "memory_bytes": 1073741824, "environment": "e", "#
            + #""domain": "e-pc", "disk": "disk.qcow2", "base": "/var/lib/decoynet/images/workstation/disk.qcow2", "method": "pause"}"#
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let record = try decoder.decode(SnapshotRecord.self, from: Data(written.utf8))
        #expect(record.pausedMS == 812 && record.memoryBytes == 1 << 30 && record.taken == Date(timeIntervalSince1970: 0))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let json = try #require(try JSONSerialization.jsonObject(with: encoder.encode(record)) as? [String: Any])
        #expect(Set(json.keys).isSuperset(of: ["host", "taken", "paused_ms", "memory_bytes"]), "the contract's keys")
    }

    @Test func aStoppedOrUnknownHostIsRefusedBeforeAnythingIsPaused() async throws {
        let name = uniqueName("snapx")
        try await apply(Self.topology(name), hypervisor: hypervisor)
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await hypervisor.stopDomain(name: Naming.object(environment: name, name: "b"))

        await #expect { try await Snapshotter.snapshot(environment: name, hosts: ["a", "b"], directory: directory, hypervisor: hypervisor) } throws: { error in
            "\(error)".contains("host b of \(name) is shutoff, not running") && "\(error)".contains("nothing was paused")
        }
        await #expect { try await Snapshotter.snapshot(environment: name, hosts: ["c"], directory: directory, hypervisor: hypervisor) } throws: { error in
            "\(error)" == "no host c in \(name); its hosts are a, b"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "no folder for a refused snapshot")
        #expect(try await hypervisor.domainState(name: Naming.object(environment: name, name: "a")) == .running, "a was not paused")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    /// The test driver has no QEMU monitor: a live snapshot fails at its first question, the host
    /// runs on unpaused, and no folder stays; without the stream's converter it is refused first.
    @Test func aLiveSnapshotThatCannotStartLeavesTheHostRunningAndNothingBehind() async throws {
        let name = uniqueName("snapl")
        try await apply(Self.topology(name), hypervisor: hypervisor)
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let converter = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            + "/forensics/memory.py"
        await #expect { try await Snapshotter.snapshot(environment: name, hosts: ["a"], directory: directory, hypervisor: hypervisor, method: .live) } throws: { error in
            "\(error)".contains("a live snapshot needs forensics/memory.py") && "\(error)".contains("nothing was paused")
        }
        await #expect {
            try await Snapshotter.snapshot(environment: name, hosts: ["a"], directory: directory, hypervisor: hypervisor, method: .live, converter: converter)
        } throws: { error in
            "\(error)".contains("ask the QEMU monitor of \(name)-a")
        }
        #expect(try await hypervisor.domainState(name: Naming.object(environment: name, name: "a")) == .running)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        _ = try await destroy(name, hypervisor: hypervisor)
    }
}
