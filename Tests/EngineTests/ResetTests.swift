@testable import Engine
import Foundation
import Hypervisor
import Testing

@Suite struct ResetOnTestDriverTests {
    @Test func resetWithoutEvidenceMakesAFreshOverlayAndStartsTheHostAgain() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 4)
        let name = uniqueName("reset")
        try await apply(topology(name, hosts: 3), hypervisor: hypervisor)
        try await hypervisor.stopDomain(name: "\(name)-h1")
        let report = try await Resetter.reset(environment: name, options: Resetter.Options(hosts: ["h1"]), hypervisor: hypervisor, capture: nil)
        #expect(report.hosts == ["h1"])
        #expect(report.outcomes.allDone, "\(report.outcomes)")
        #expect(report.evidenceFolder == nil)
        #expect(try await hypervisor.domainState(name: "\(name)-h1") == .running)
        #expect(try await hypervisor.volumes(pool: "decoynet-\(name)").map(\.name).contains("\(name)-h1.qcow2"))
        let volume = try await hypervisor.volumeXML(pool: "decoynet-\(name)", name: "\(name)-h1.qcow2")
        #expect(volume.contains("/var/lib/images/base.qcow2"), "the fresh overlay is on the same base")
        #expect(try await plan(topology(name, hosts: 3), hypervisor: hypervisor).isEmpty, "a reset host is still what the topology says")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func resetLeavesTheHostsItDoesNotRestoreStoppedForTheCallerToBoot() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 4)
        let name = uniqueName("leave")
        try await apply(topology(name, hosts: 3), hypervisor: hypervisor)
        var options = Resetter.Options(hosts: ["h2", "h0"], bootNow: false)
        options.cleanStateRoot = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("states")).path
        let report = try await Resetter.reset(environment: name, options: options, hypervisor: hypervisor, capture: nil)
        #expect(report.outcomes.allDone, "\(report.outcomes)")
        #expect(report.stopped == ["h0", "h2"] && report.completed == ["h0", "h2"] && report.restored.isEmpty, "\(report)")
        #expect(try await hypervisor.domainState(name: "\(name)-h0") == .shutoff)
        #expect(try await hypervisor.domainState(name: "\(name)-h2") == .shutoff)
        #expect(try await hypervisor.domainState(name: "\(name)-h1") == .running, "a host not reset runs on")
        #expect(try await hypervisor.volumes(pool: "decoynet-\(name)").map(\.name).contains("\(name)-h2.qcow2"), "its fresh overlay is there")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func resettingAnUnknownHostSaysWhichHostsExist() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 2)
        let name = uniqueName("which")
        try await apply(topology(name, hosts: 2), hypervisor: hypervisor)
        await #expect {
            _ = try await Resetter.reset(environment: name, options: Resetter.Options(hosts: ["h9"]), hypervisor: hypervisor, capture: nil)
        } throws: { error in
            String(describing: error) == "no host h9 in \(name); its hosts are h0, h1"
        }
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func freshVolumeKeepsNameSizeAndBacking() throws {
        let xml = """
        <volume type='file'><name>e-a.qcow2</name><capacity unit='bytes'>1073741824</capacity>
        <target><path>/p/e-a.qcow2</path><format type='qcow2'/></target>
        <backingStore><path>/base.img</path><format type='raw'/></backingStore></volume>
        """
        let fresh = try Resetter.freshVolume(from: xml, name: "e-a.qcow2")
        #expect(fresh.contains("<capacity unit=\"bytes\">1073741824</capacity>"))
        #expect(fresh.contains("<path>/base.img</path>"))
        #expect(fresh.contains("<format type=\"raw\"/>"))
        #expect(throws: Resetter.Failure.self) { try Resetter.freshVolume(from: "<volume><name>x</name></volume>", name: "x") }
    }

    @Test func routesAreReadFromTheKernelsTable() {
        let table = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        dn-1\t00014D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        """
        let routes = HostRoutes.parse(table)
        #expect(routes == [HostRoutes.Route(interface: "dn-1", destination: 0x0A4D_0100, prefixLength: 24)])
    }

    @Test func evidenceLeavesRootsReserveAndAGibibyteForTheGuests() throws {
        #expect(EvidenceSpace(needed: 1 << 20, available: EvidenceSpace.reserve + (1 << 20)).suffices)
        #expect(!EvidenceSpace(needed: 1 << 20, available: EvidenceSpace.reserve + (1 << 19)).suffices, "the last gibibyte stays for the overlays")
        // What is measured is what anyone but root may still write.
        var system = statvfs()
        #expect(statvfs("/tmp", &system) == 0)
        let space = try EvidenceSpace.measure(directory: "/tmp/decoynet-no-such-folder/evidence", moved: [], written: 5)
        #expect(space.needed == 5)
        let unprivileged = UInt64(system.f_bavail) * UInt64(system.f_frsize), all = UInt64(system.f_bfree) * UInt64(system.f_frsize)
        #expect(space.available <= all && abs(Double(space.available) - Double(unprivileged)) < Double(64 << 20))
    }
}
