import Compiler
import Engine
import Foundation
import Hypervisor
import TestSupport
import Testing
import Topology

/// The engine's calls as a front end makes them, on libvirt's test driver.
@Suite struct OperationsTests {
    let operations: Operations

    init() throws {
        operations = Operations(hypervisor: try LibvirtHypervisor(uri: testURI, parallelism: 8), prober: FakeProber(opensAt: [:]),
                                poolRoot: "/tmp/decoynet-test-pools")
    }

    func copies(of name: String, _ count: Int) throws -> [ResolvedEnvironment] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-ops-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/topology.yaml"
        try Data(topology(name, hosts: 2, networks: 1).utf8).write(to: URL(fileURLWithPath: path))
        return try (1 ... count).map { number in
            let loaded = Operations.load(path: path, templates: nil, instance: .number(number), forDeploy: false, uri: testURI)
            return try #require(loaded.environment, "\(loaded.diagnostics.map(\.rendered))")
        }
    }

    @Test func aNameThatOnlyHasCopiesSaysSoAndHowToReachThem() async throws {
        let name = uniqueName("harbor")
        let options = Operations.ApplyOptions(acceleration: .qemu, wait: false, checkResources: false)
        let events = EventsSeen()
        let prepared = try await operations.prepareApply(try copies(of: name, 3), options: options)
        let report = try await operations.apply(prepared, options: options, events: events.add)
        #expect(report.succeeded)
        #expect(events.kinds.first == .plan)
        #expect(events.kinds.filter { $0 == .stepDone }.count == report.steps.count)
        let hint = try #require(await operations.copiesHint(name))
        #expect(hint.contains("3 copies (\(name)-i1, \(name)-i2, \(name)-i3)"), "\(hint)")
        #expect(hint.contains("--instances"))
        #expect(await operations.copiesHint(uniqueName("nothing")) == nil)
        // Destroying the name itself removes nothing of its copies.
        let destroyed = try await operations.destroy([name])
        #expect(destroyed.steps.isEmpty)
        #expect(try await operations.copies(of: name).count == 3)
        let all = try await operations.destroy(try await operations.copies(of: name))
        #expect(all.succeeded)
        #expect(await operations.copiesHint(name) == nil)
        // The apply let go of its locks when it ended, though `prepared` lives on.
        withExtendedLifetime(prepared) {}
    }

    @Test func anInterruptedResetStartsTheHostsItHadNotBootedYet() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 4)
        let name = uniqueName("halt")
        // Its own addresses: the copies above are checked against every network on the connection.
        try await apply(topology(name, hosts: 3).replacingOccurrences(of: "cidr: 10.10", with: "cidr: 10.23"), hypervisor: hypervisor)
        var options = Resetter.Options()
        options.cleanStateRoot = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("states")).path
        // Interrupted as soon as one host's reset is done: waiting, it was left stopped for the boot scheduler.
        let cancellation = Cancellation()
        let report = try await operations.reset(name, options: options, wait: true, cancellation: cancellation) { event in
            if event.kind == .stepDone { cancellation.cancel() }
        }
        #expect(report.interrupted && report.health == nil)
        #expect(report.steps.contains { $0.completed }, "\(report.steps)")
        for host in 0 ..< 3 {
            #expect(try await hypervisor.domainState(name: "\(name)-h\(host)") == .running, "h\(host) runs")
        }
        _ = try await destroy(name, hypervisor: hypervisor)
    }
}

final class EventsSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [OperationEvent] = []
    func add(_ event: OperationEvent) { lock.withLock { seen.append(event) } }
    var kinds: [OperationEvent.Kind] { lock.withLock { seen.map(\.kind) } }
}
