import Compiler
import Engine
import Foundation
import Hypervisor
import LibvirtXML
import TestSupport
import Testing

/// The health checker on libvirt's test driver, with a scripted prober: retries until a probe
/// passes, gives up at the deadline with the prober's reason, reads HTTP answers.
@Suite struct HealthTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    func deploy(_ name: String, probes: String, timeout: String = "20s") async throws -> (address: String, checker: (FakeProber) -> HealthChecker) {
        let source = topology(name, hosts: 1, networks: 1, extra: "") .replacingOccurrences(of: "interfaces: [{ network: net0 }] }",
                                                                                     with: "interfaces: [{ network: net0 }], health: { timeout: \(timeout), probes: \(probes) } }")
        let result = try await apply(source, hypervisor: hypervisor)
        #expect(result.outcomes.allDone)
        let address = try #require(try resolve(source).hosts.first?.interfaces.first?.address.description)
        return (address, { prober in
            var checker = HealthChecker(hypervisor: hypervisor, prober: prober)
            checker.interval = 0.05
            return checker
        })
    }

    @Test func aPortThatOpensLateIsWaitedFor() async throws {
        let name = uniqueName("late")
        let (address, checker) = try await deploy(name, probes: "[running, tcp:22]")
        let prober = FakeProber(opensAt: ["\(address):22": 4])
        let hosts = try await checker(prober).check(environment: name, wait: true)
        #expect(hosts.count == 1)
        #expect(hosts[0].healthy, "\(hosts)")
        #expect(prober.tries("\(address):22") == 4, "tried until it opened, and no more")
        #expect(hosts[0].seconds != nil)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func withoutWaitingOneTryEachAndTheReasonIsKept() async throws {
        let name = uniqueName("once")
        let (address, checker) = try await deploy(name, probes: "[running, tcp:22]")
        let prober = FakeProber(opensAt: ["\(address):22": 2])
        let hosts = try await checker(prober).check(environment: name, wait: false)
        #expect(!hosts[0].healthy)
        #expect(prober.tries("\(address):22") == 1)
        #expect(hosts[0].probes.map(\.probe) == ["running", "tcp:22"])
        #expect(hosts[0].probes[0].passed)
        #expect(hosts[0].probes[1].detail == "connection refused")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func aProbeThatNeverPassesEndsAtTheDeadline() async throws {
        let name = uniqueName("never")
        let (_, checker) = try await deploy(name, probes: "[tcp:80]", timeout: "1s")
        let start = Date()
        let hosts = try await checker(FakeProber(opensAt: [:])).check(environment: name, wait: true)
        let took = Date().timeIntervalSince(start)
        #expect(!hosts[0].healthy)
        #expect(took >= 1 && took < 10, "\(took)")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func anHTTPProbeReadsTheStatusAndTheExpectedText() async throws {
        let name = uniqueName("http")
        let (address, checker) = try await deploy(name, probes: #"[{ probe: "http:80/about.html", expect: "Acme Trading" }]"#)
        let wrong = FakeProber(opensAt: ["\(address):80": 1], answers: ["\(address):80": "HTTP/1.0 200 OK\r\n\r\n<h1>It works</h1>"])
        let failing = try await checker(wrong).check(environment: name, wait: false)
        #expect(!failing[0].healthy)
        #expect(failing[0].probes[0].detail.contains("Acme Trading"), "\(failing[0].probes)")
        let missing = FakeProber(opensAt: ["\(address):80": 1], answers: ["\(address):80": "HTTP/1.0 404 Not Found\r\n\r\n"])
        #expect(try await checker(missing).check(environment: name, wait: false)[0].probes[0].detail.contains("404"))
        let right = FakeProber(opensAt: ["\(address):80": 1], answers: ["\(address):80": "HTTP/1.0 200 OK\r\n\r\n<title>Acme Trading</title>"])
        #expect(try await checker(right).check(environment: name, wait: false)[0].healthy)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func aLeaseCountsOnlyWhenGivenOrRenewedAfterTheStart() {
        let interface = DomainMetadataInterface(network: "lan", mac: "52:54:00:00:00:01", address: "10.0.0.2", dhcp: true)
        let old = DHCPLease(mac: "52:54:00:00:00:01", address: "10.0.0.2", hostname: "desk-01", expiry: 1_000)
        let renewed = DHCPLease(mac: "52:54:00:00:00:01", address: "10.0.0.2", hostname: "desk-01", expiry: 1_005)
        // A lease the replaced domain left behind, unchanged since before the start.
        #expect(HealthChecker.leaseProblem(interface, held: [old], before: 1_000) == "the lease of 10.0.0.2 is from before this start")
        #expect(HealthChecker.leaseProblem(interface, held: [renewed], before: 1_000) == nil)
        // No lease before the start: any lease of the address is this start's.
        #expect(HealthChecker.leaseProblem(interface, held: [old], before: nil) == nil)
        #expect(HealthChecker.leaseProblem(interface, held: [], before: nil) == "no lease of 10.0.0.2 on lan")
        // Another address for the MAC is no lease of this one; a lease that never runs out cannot tell its age.
        #expect(HealthChecker.leaseProblem(interface, held: [DHCPLease(mac: old.mac, address: "10.0.0.9", hostname: nil, expiry: 1_005)], before: nil) != nil)
        #expect(HealthChecker.leaseProblem(interface, held: [DHCPLease(mac: old.mac.uppercased(), address: old.address, hostname: nil, expiry: 0)], before: 1_000) == nil)
    }

    @Test func theAgentProbeFailsWhereNoGuestAgentAnswers() async throws {
        let name = uniqueName("agent")
        // libvirt's test driver runs no guest: its domains have no agent to answer a ping.
        let (_, checker) = try await deploy(name, probes: "[running, agent]", timeout: "1s")
        let hosts = try await checker(FakeProber(opensAt: [:])).check(environment: name, wait: false)
        #expect(hosts[0].probes.map(\.probe) == ["running", "agent"])
        #expect(hosts[0].probes[0].passed)
        #expect(!hosts[0].probes[1].passed)
        #expect(hosts[0].probes[1].detail == "the guest agent does not answer")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func aSlowServerIsGivenLongerAtEachTryAndToldApartFromAClosedOne() async throws {
        let name = uniqueName("slow")
        let (address, checker) = try await deploy(name, probes: "[running, ssh]", timeout: "30s")
        // sshd on a loaded machine: its banner comes 10 s after the connection opens.
        let prober = FakeProber(opensAt: ["\(address):22": 1], answers: ["\(address):22": "SSH-2.0-OpenSSH_9.2p1\r\n"],
                                answersAfter: ["\(address):22": 10])
        let hosts = try await checker(prober).check(environment: name, wait: true)
        #expect(hosts[0].healthy, "\(hosts)")
        #expect(prober.timeouts("\(address):22") == [3, 6, 12])
        let once = try await checker(FakeProber(opensAt: ["\(address):22": 1], answersAfter: ["\(address):22": 10])).check(environment: name, wait: false)
        #expect(once[0].probes[1].detail == "slow: no answer within 3 s")
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    /// A prober that sends the probes of each network's guests (by the first two parts of their
    /// address) to a port of its own on loopback, through the real socket prober (its threads and
    /// deadlines): the hosts of the test driver have no guests.
    struct Loopback: GuestProber {
        let inner: any GuestProber
        let ports: [String: Int]

        func forEnvironment(_ environment: String) -> any GuestProber {
            Loopback(inner: inner.forEnvironment(environment), ports: ports)
        }

        func port(_ address: String) -> Int { ports[address.split(separator: ".").prefix(2).joined(separator: ".")] ?? 1 }

        func tcp(address: String, port: Int, timeout: Double) async -> String? {
            await inner.tcp(address: "127.0.0.1", port: self.port(address), timeout: timeout)
        }

        func exchange(address: String, port: Int, request: [UInt8], timeout: Double, limit: Int,
                      isComplete: @escaping @Sendable ([UInt8]) -> Bool) async -> Result<[UInt8], ProbeProblem> {
            await inner.exchange(address: "127.0.0.1", port: self.port(address), request: request, timeout: timeout, limit: limit, isComplete: isComplete)
        }

        func datagram(address: String, port: Int, request: [UInt8], timeout: Double) async -> Result<[UInt8], ProbeProblem> {
            await inner.datagram(address: "127.0.0.1", port: self.port(address), request: request, timeout: timeout)
        }
    }

    @Test func guestsThatDripTheirBannersDoNotDelayAnotherEnvironmentsHealth() async throws {
        // Environment A: 24 hosts whose sshd sends a byte every half second and never a whole line,
        // so each probe holds its thread for its whole 3 s. Environment B: one host whose banner
        // comes at once. With one set of probe threads for every environment (16), B's probe
        // waited behind A's for 3 s or more.
        let dripping = try SocketProberTests.Listener(hangUp: false, drip: 0.5)
        let answering = try SocketProberTests.Listener(hangUp: false, greeting: "SSH-2.0-OpenSSH_9.2p1\r\n")
        let a = uniqueName("drip"), b = uniqueName("prompt")
        for (name, hosts, network) in [(a, 24, "10.100."), (b, 1, "10.150.")] {
            let source = topology(name, hosts: hosts, networks: 1).replacingOccurrences(of: "interfaces: [{ network: net0 }] }",
                                                                                    with: "interfaces: [{ network: net0 }], health: { timeout: 20s, probes: [ssh] } }")
                .replacingOccurrences(of: "10.100.", with: network)
            #expect(try await apply(source, hypervisor: hypervisor).outcomes.allDone)
        }
        let prober = SocketProber()
        let checker = HealthChecker(hypervisor: hypervisor, prober: Loopback(inner: prober, ports: ["10.100": dripping.port, "10.150": answering.port]))
        let start = Date()
        let held = Task { try await checker.check(environment: a, wait: false) }
        // A's probes are connected and being dripped to before B's check starts.
        while dripping.connections < 8, Date().timeIntervalSince(start) < 10 { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(dripping.connections >= 8)
        let bStart = Date()
        let prompt = try await checker.check(environment: b, wait: false)
        let bSeconds = Date().timeIntervalSince(bStart)
        #expect(prompt.count == 1 && prompt[0].healthy, "\(prompt)")
        #expect(bSeconds < 2, "B's health took \(bSeconds) s behind A's dripping guests")
        #expect(prober.environmentProbers == 2)
        let slow = try await held.value
        #expect(slow.count == 24)
        #expect(slow.allSatisfy { !$0.healthy && $0.probes[0].detail.hasPrefix("no SSH banner") }, "\(slow.map(\.probes))")
        #expect(Date().timeIntervalSince(start) >= 3)
        withExtendedLifetime((dripping, answering)) {}
        _ = try await destroy(a, hypervisor: hypervisor)
        _ = try await destroy(b, hypervisor: hypervisor)
    }
}
