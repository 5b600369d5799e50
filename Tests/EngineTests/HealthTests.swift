import Compiler
import Engine
import Foundation
import Hypervisor
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
}
