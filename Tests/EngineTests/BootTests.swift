import Compiler
import Engine
import Foundation
import Hypervisor
import Planner
import Testing

/// The boot scheduler and the resource check, on libvirt's test driver.
@Suite struct BootTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    /// A gateway `fw` and two hosts behind it; `probes` for every host.
    func company(_ environment: String, probes: String, retries: Int = 2, timeout: String = "5s") -> String {
        """
        name: \(environment)
        images:
          base: { disk: /var/lib/images/base.qcow2 }
        networks:
          lan: { cidr: 10.120.0.0/24, gateway: fw }
        defaults:
          image: base
          disk: 1GiB
          memory: 256MiB
          health: { probes: [\(probes)], retries: \(retries), timeout: \(timeout) }
        hosts:
          pc: { interfaces: [{ network: lan }], owner: tsato }
          srv: { interfaces: [{ network: lan }], services: [smb] }
          fw: { interfaces: [{ network: lan }] }
        people: [{ user: tsato }]
        """
    }

    /// Defines the environment's domains without starting them, as `apply` does before booting.
    func define(_ source: String) async throws -> ResolvedEnvironment {
        let environment = try resolve(source)
        let (desired, plan) = try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools")
        let steps = Deployer.steps([(plan, desired)], hypervisor: hypervisor, capture: nil, startDomains: false)
        let outcomes = try await GraphWalker.walk(steps, parallelism: 8)
        #expect(outcomes.allDone, "\(outcomes.map { "\($0.label): \($0.result)" })")
        return environment
    }

    @Test func hostsStartInBootOrderAndBecomeHealthy() async throws {
        let name = uniqueName("boot")
        _ = try await define(company(name, probes: "running"))
        defer { Task { [hypervisor] in _ = try? await destroy(name, hypervisor: hypervisor) } }
        #expect(try await hypervisor.domainState(name: "\(name)-fw") == .shutoff)

        let events = BootEvents()
        let scheduler = BootScheduler(hypervisor: hypervisor, checker: HealthChecker(hypervisor: hypervisor, prober: SocketProber()), slots: 1)
        let health = try await scheduler.boot(environments: [name], onEvent: events.record)
        #expect(health.count == 3 && health.allSatisfy(\.healthy))
        #expect(health.allSatisfy { $0.attempts == 1 })
        // One slot: the gateway, then the server, then the owned PC.
        #expect(events.started == ["fw", "srv", "pc"])
    }

    @Test func aHostThatNeverBecomesHealthyIsRestartedUpToItsRetries() async throws {
        let name = uniqueName("retry")
        // The test driver hands out no DHCP leases: `lease` never passes.
        _ = try await define(company(name, probes: "running, lease", retries: 1, timeout: "1s"))
        defer { Task { [hypervisor] in _ = try? await destroy(name, hypervisor: hypervisor) } }

        let events = BootEvents()
        let scheduler = BootScheduler(hypervisor: hypervisor, checker: HealthChecker(hypervisor: hypervisor, prober: SocketProber()), slots: 3)
        let health = try await scheduler.boot(environments: [name], onEvent: events.record)
        #expect(health.count == 3 && health.allSatisfy { !$0.healthy && $0.attempts == 2 })
        #expect(events.restarts.sorted() == ["fw", "pc", "srv"])
        #expect(events.unhealthy.sorted() == ["fw", "pc", "srv"])
        #expect(events.reasons.allSatisfy { $0.contains("not healthy") && $0.contains("(lease)") }, "\(events.reasons)")
    }

    /// A host starts only once its environment's tables are said to be in place (on a real host,
    /// `HostIsolation`): refused, it stays off and says why, and the next host is asked again.
    @Test func noHostStartsWhenItsFirewallTablesCannotBeLoaded() async throws {
        let name = uniqueName("closed")
        _ = try await define(company(name, probes: "running"))
        defer { Task { [hypervisor] in _ = try? await destroy(name, hypervisor: hypervisor) } }

        let asked = BootEvents()
        var scheduler = BootScheduler(hypervisor: hypervisor, checker: HealthChecker(hypervisor: hypervisor, prober: SocketProber()), slots: 2)
        scheduler.isolation = { environment in
            asked.record(.started(host: environment, domain: "", attempt: 1))
            return "nft -f refused the rules"
        }
        let events = BootEvents()
        let health = try await scheduler.boot(environments: [name], onEvent: events.record)
        #expect(health.count == 3 && health.allSatisfy { !$0.healthy })
        #expect(asked.started == [name, name, name], "asked once per host, with its environment")
        #expect(events.started.isEmpty && events.unhealthy.sorted() == ["fw", "pc", "srv"])
        #expect(events.reasons.allSatisfy { $0.contains("nft -f refused the rules") }, "\(events.reasons)")
        for host in ["fw", "pc", "srv"] { #expect(try await hypervisor.domainState(name: "\(name)-\(host)") == .shutoff) }
    }

    @Test func aPlanThatDoesNotFitIsRefusedWithItsFigures() async throws {
        let name = uniqueName("fit")
        let environment = try resolve(company(name, probes: "running"))
        let (desired, plan) = try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools")
        let needs = ResourceCheck.needs([(plan, desired)])
        // Each: 256 MiB, a 32 MiB TCG cache, 40 MiB for QEMU; 64 MiB of disk.
        #expect(needs == ResourceCheck.Needs(hosts: 3, memoryMiB: 3 * 328, diskMiB: 3 * 64))
        let tight = ResourceCheck.problems(needs, available: .init(memoryMiB: 600, diskMiB: 100, diskPath: "/pools"), overcommit: 1.5)
        #expect(tight.count == 2)
        #expect(tight.first == "3 hosts need 984 MiB of memory (guests, TCG caches and QEMU); this machine has 600 MiB available, 1.50x of which is 900 MiB; give hosts less memory, apply fewer copies, or allow more with --overcommit")
        #expect(tight.last == "3 hosts need about 192 MiB of disk for their overlays; /pools has 100 MiB free")
        #expect(ResourceCheck.problems(needs, available: .init(memoryMiB: 700, diskMiB: 200, diskPath: "/pools"), overcommit: 1.5).isEmpty)
        // Under KVM there is no translation cache to count.
        let kvm = try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: .kvm, poolRoot: "/tmp/decoynet-test-pools")
        #expect(ResourceCheck.needs([(kvm.plan, kvm.desired)]).memoryMiB == 3 * 296)
    }
}

/// The scheduler's events, recorded from any thread.
final class BootEvents: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var started: [String] = []
    private(set) var restarts: [String] = []
    private(set) var unhealthy: [String] = []
    private(set) var reasons: [String] = []

    func record(_ event: BootScheduler.Event) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case let .started(host, _, attempt): if attempt == 1 { started.append(host) }
        case let .restarting(host, _, reason, _, _):
            restarts.append(host)
            reasons.append(reason)
        case let .unhealthy(host, _, reason):
            unhealthy.append(host)
            reasons.append(reason)
        case .healthy, .kept, .notKept, .cloned, .notCloned, .checked: break
        }
    }
}
