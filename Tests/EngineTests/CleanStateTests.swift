@testable import Engine
import Foundation
import Hypervisor
import LibvirtXML
import Planner
import Testing

/// Clean states on libvirt's test driver, which saves and restores domains in a format of its own:
/// kept for the domain's digest only, the host left running, a failed restore reported.
@Suite struct CleanStateTests {
    @Test func aCleanStateIsKeptForItsDigestAndTheHostRunsOn() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 4)
        let name = uniqueName("clean")
        try await apply(topology(name, hosts: 1), hypervisor: hypervisor)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-clean-" + UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let overlay = root + "-overlay.qcow2"
        defer { try? FileManager.default.removeItem(atPath: overlay) }
        try Data("QFI\u{FB} an overlay's bytes".utf8).write(to: URL(fileURLWithPath: overlay))
        let (domain, metadata) = try #require(ActualState.owned(try await hypervisor.domains()).first { $0.metadata.environment == name })
        let state = CleanState(hypervisor: hypervisor, root: root)
        #expect(state.usable(environment: name, host: metadata.host, digest: metadata.digest) == nil, "nothing kept yet")

        #expect(await state.keep(domain: domain.name, metadata: metadata, overlay: overlay) == .kept)
        #expect(try await hypervisor.domainState(name: domain.name) == .running, "the host runs on after its state was kept")
        let record = try #require(state.usable(environment: name, host: metadata.host, digest: metadata.digest))
        #expect(abs(record.kept.timeIntervalSinceNow) < 60)
        #expect(state.usable(environment: name, host: metadata.host, digest: "sha256:" + String(repeating: "0", count: 64)) == nil,
                "a replaced domain's state is not used")
        let folder = state.folder(environment: name, host: metadata.host)
        #expect(FileManager.default.contents(atPath: folder + "/overlay.qcow2") == FileManager.default.contents(atPath: overlay))
        #expect(!FileManager.default.fileExists(atPath: folder + ".new"))

        // The test driver's guest has no agent to step its clock: the restore says so and stops it,
        // the state kept for the next reset (it restored; the guest did not wake).
        try await hypervisor.stopDomain(name: domain.name)
        try Data("a fresh overlay".utf8).write(to: URL(fileURLWithPath: overlay))
        await #expect {
            try await state.restore(domain: domain.name, metadata: metadata, overlay: overlay)
        } throws: { error in
            (error as? CleanState.RestoreFailure)?.damaged == false
        }
        #expect(FileManager.default.contents(atPath: overlay) == FileManager.default.contents(atPath: folder + "/overlay.qcow2"),
                "the kept disk was written over the fresh overlay")
        #expect(try await hypervisor.domainState(name: domain.name) != .running)
        // A damaged save image is told apart.
        try FileHandle(forWritingAtPath: folder + "/memory.save").map { try $0.truncate(atOffset: 8); try $0.close() }
        await #expect {
            try await state.restore(domain: domain.name, metadata: metadata, overlay: overlay)
        } throws: { error in
            (error as? CleanState.RestoreFailure)?.damaged == true
        }
        state.remove(environment: name)
        #expect(!FileManager.default.fileExists(atPath: root + "/" + name))
        _ = try await destroy(name, hypervisor: hypervisor)
    }
}
