import Compiler
import Engine
import Foundation
import Hypervisor
import LibvirtXML
import Planner
import Testing

@Suite struct PlannerTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    @Test func newEnvironmentIsCreatedThenASecondApplyDoesNothing() async throws {
        let name = uniqueName("new")
        let source = topology(name)
        let first = try await apply(source, hypervisor: hypervisor)
        #expect(first.plan.actions(.create, .pool) == ["decoynet-\(name)"])
        #expect(first.plan.actions(.create, .network) == ["\(name)-net0", "\(name)-net1"])
        #expect(first.plan.actions(.create, .domain) == ["\(name)-h0", "\(name)-h1", "\(name)-h2"])
        #expect(first.outcomes.allDone, "\(first.outcomes)")
        let domains = try await hypervisor.domains().filter { $0.name.hasPrefix(name + "-") }
        #expect(domains.count == 3)
        #expect(domains.allSatisfy { $0.state == .running })
        let volumes = try await hypervisor.volumes(pool: "decoynet-\(name)")
        // Each host has its overlay and its NoCloud seed.
        #expect(volumes.map(\.name) == ["\(name)-h0.qcow2", "\(name)-h0.seed.iso", "\(name)-h1.qcow2", "\(name)-h1.seed.iso",
                                         "\(name)-h2.qcow2", "\(name)-h2.seed.iso"])

        let second = try await plan(source, hypervisor: hypervisor)
        #expect(second.isEmpty, "\(second.actions.filter { $0.kind != .keep })")
        #expect(second.count(.keep) == 6)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func changingOneHostsMemoryReplacesThatHostAndNothingElse() async throws {
        let name = uniqueName("mem")
        try await apply(topology(name), hypervisor: hypervisor)
        let changed = try await plan(topology(name, memory: "512MiB"), hypervisor: hypervisor)
        #expect(changed.actions(.replace) == ["\(name)-h0"])
        #expect(changed.actions.filter { $0.kind != .keep }.count == 1)
        #expect(changed.actions.first { $0.kind == .replace }?.reason == "definition changed")
        let applied = try await apply(topology(name, memory: "512MiB"), hypervisor: hypervisor)
        #expect(applied.outcomes.allDone)
        #expect(try await plan(topology(name, memory: "512MiB"), hypervisor: hypervisor).isEmpty)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func addingAndRemovingHostsEditsNetworksLive() async throws {
        let name = uniqueName("edit")
        try await apply(topology(name, hosts: 3), hypervisor: hypervisor)
        let grown = try await plan(topology(name, hosts: 4), hypervisor: hypervisor)
        #expect(grown.actions(.create) == ["\(name)-h3"])
        #expect(grown.actions(.update, .network) == ["\(name)-net0", "\(name)-net1"], "the new host's DHCP reservation and DNS name")
        #expect(grown.count(.replace) == 0)
        #expect(try await apply(topology(name, hosts: 4), hypervisor: hypervisor).outcomes.allDone)
        let live = try await hypervisor.networks().first { $0.name == "\(name)-net1" }
        let network = try #require(live.flatMap { Network(xml: $0.xml) })
        #expect(network.dhcpHosts.map(\.name) == ["h1", "h3"])

        let shrunk = try await plan(topology(name, hosts: 2), hypervisor: hypervisor)
        #expect(shrunk.actions(.delete, .domain) == ["\(name)-h2", "\(name)-h3"])
        #expect(shrunk.count(.replace) == 0)
        #expect(try await apply(topology(name, hosts: 2), hypervisor: hypervisor).outcomes.allDone)
        #expect(try await plan(topology(name, hosts: 2), hypervisor: hypervisor).isEmpty)
        #expect(try await hypervisor.volumes(pool: "decoynet-\(name)").count == 4, "two overlays and two seeds")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func changingANetworksAddressesReplacesItAndItsHosts() async throws {
        let name = uniqueName("net")
        try await apply(topology(name), hypervisor: hypervisor)
        let moved = topology(name).replacingOccurrences(of: "10.101.0.0/22", with: "10.111.0.0/22")
        let changed = try await plan(moved, hypervisor: hypervisor)
        #expect(changed.actions(.replace, .network) == ["\(name)-net1"])
        #expect(changed.actions(.replace, .domain) == ["\(name)-h1"])
        #expect(try await apply(moved, hypervisor: hypervisor).outcomes.allDone)
        #expect(try await plan(moved, hypervisor: hypervisor).isEmpty)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func objectsWithOurNamesButNotOurMarksAreNeverTouched() async throws {
        let name = uniqueName("foreign")
        // A domain and a network that happen to have the environment's names, made by someone else.
        try await hypervisor.defineDomain(xml: "<domain type='qemu'><name>\(name)-h1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>")
        try await hypervisor.defineAndStartNetwork(xml: "<network><name>\(name)-net0</name><bridge name='virbr-\(name.suffix(5))'/></network>")
        await #expect {
            _ = try await plan(topology(name), hypervisor: hypervisor)
        } throws: { error in
            let foreign = try #require(error as? ForeignObjectsError)
            return foreign.objects == ["network \(name)-net0 (not made by DecoyNet for \(name))", "domain \(name)-h1 (no DecoyNet metadata for \(name))"]
        }
        // Destroying the environment leaves them alone too.
        #expect(try await Deployer.destroyPlan(environment: name, hypervisor: hypervisor).actions.isEmpty)
        try await hypervisor.removeDomain(name: "\(name)-h1")
        try await hypervisor.removeNetwork(name: "\(name)-net0")
    }

    @Test func stoppedDomainIsStartedNotReplaced() async throws {
        let name = uniqueName("stop")
        try await apply(topology(name), hypervisor: hypervisor)
        try await hypervisor.removeDomain(name: "\(name)-h2")
        let environment = try resolve(topology(name))
        let desired = DesiredState(environment, acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools")
        let h2 = try #require(desired.domains.first { $0.host == "h2" })
        try await hypervisor.defineDomain(xml: h2.xml)
        let next = try await plan(topology(name), hypervisor: hypervisor)
        #expect(next.actions(.start) == ["\(name)-h2"])
        #expect(try await apply(topology(name), hypervisor: hypervisor).outcomes.allDone)
        #expect(try await hypervisor.domainState(name: "\(name)-h2") == .running)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func anOverlayLeftWithoutItsDomainIsDeleted() async throws {
        let name = uniqueName("orphan")
        try await apply(topology(name, hosts: 2), hypervisor: hypervisor)
        // As an apply killed between the overlay and the definition would leave it.
        let volume = StorageVolume(name: "\(name)-gone.qcow2", capacityBytes: 1 << 20,
                                   backingStore: StorageVolumeBackingStore(path: "/var/lib/images/base.qcow2", format: "qcow2"))
        try await hypervisor.createVolume(pool: "decoynet-\(name)", xml: volume.serialized())
        let next = try await plan(topology(name, hosts: 2), hypervisor: hypervisor)
        #expect(next.actions(.delete, .volume) == ["\(name)-gone.qcow2"])
        #expect(try await apply(topology(name, hosts: 2), hypervisor: hypervisor).outcomes.allDone)
        #expect(try await hypervisor.volumes(pool: "decoynet-\(name)").map(\.name) == ["\(name)-h0.qcow2", "\(name)-h0.seed.iso", "\(name)-h1.qcow2",
                                                                                     "\(name)-h1.seed.iso"])
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func destroyRemovesEverythingOfTheEnvironmentAndNothingElse() async throws {
        let name = uniqueName("gone")
        let other = uniqueName("kept")
        try await apply(topology(name), hypervisor: hypervisor)
        try await apply(topology(other).replacingOccurrences(of: "10.10", with: "10.20"), hypervisor: hypervisor)
        let outcomes = try await destroy(name, hypervisor: hypervisor)
        #expect(outcomes.allDone)
        #expect(try await hypervisor.domains().filter { $0.name.hasPrefix(name + "-") }.isEmpty)
        #expect(try await hypervisor.networks().filter { $0.name.hasPrefix(name + "-") }.isEmpty)
        #expect(try await hypervisor.pools().filter { $0.name == "decoynet-\(name)" }.isEmpty)
        #expect(try await hypervisor.domains().filter { $0.name.hasPrefix(other + "-") }.count == 3)
        #expect(try await Deployer.destroyPlan(environment: name, hypervisor: hypervisor).actions.isEmpty, "destroy is idempotent")
        _ = try await destroy(other, hypervisor: hypervisor)
    }

    @Test func listAndStatusReadEverythingFromLibvirt() async throws {
        let name = uniqueName("stat")
        try await apply(topology(name), hypervisor: hypervisor)
        let list = try await StatusReader.list(hypervisor: hypervisor)
        let entry = try #require(list.first { $0.environment == name })
        #expect(entry.domains == 3 && entry.running == 3 && entry.networks == 2)
        let status = try await StatusReader.status(environment: name, hypervisor: hypervisor)
        #expect(status.domains.map(\.host) == ["h0", "h1", "h2"])
        #expect(status.domains[1].addresses == ["10.101.0.2"])
        #expect(status.networks.map(\.dhcpReservations) == [2, 1])
        #expect(status.pool == "decoynet-\(name)")
        _ = try await destroy(name, hypervisor: hypervisor)
    }
}
