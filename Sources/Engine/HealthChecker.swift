import Foundation
import Hypervisor
import LibvirtXML
import Naming
import Planner
import Topology

/// One probe's verdict.
public struct ProbeResult: Sendable, Codable, Equatable {
    public var probe: String
    public var passed: Bool
    /// Why it failed, in a few words; empty when it passed.
    public var detail: String

    public init(probe: String, passed: Bool, detail: String) {
        self.probe = probe
        self.passed = passed
        self.detail = detail
    }
}

public struct HostHealth: Sendable, Codable {
    public var host: String
    public var domain: String
    public var state: String
    public var addresses: [String]
    public var probes: [ProbeResult]
    public var healthy: Bool { probes.allSatisfy(\.passed) }
    /// Seconds from the start of the check until every probe passed.
    public var seconds: Double?
    /// Starts it took (set when the boot scheduler started the host): more than 1 means restarts.
    public var attempts: Int?
    /// The console's last lines, when the host was restarted or never became healthy.
    public var console: [String]?
    /// The warm template (`IMAGE/KEY`) the host was restored from instead of booted.
    public var restoredFrom: String?
}

/// Runs each host's probes (kept in its metadata) in parallel, retrying until they pass or the
/// host's health timeout runs out.
public struct HealthChecker: Sendable {
    public var hypervisor: any Hypervisor
    public var prober: any GuestProber
    /// Seconds between tries of a failing probe.
    public var interval: Double = 1

    public init(hypervisor: any Hypervisor, prober: any GuestProber) {
        self.hypervisor = hypervisor
        self.prober = prober
    }

    /// `wait`: retry until healthy or the deadline; otherwise one try each. `timeout` overrides
    /// the hosts' own timeouts. `before`: by host, its leases as `leaseExpiries(environment:)` read
    /// them just before the hosts were started again.
    public func check(environment: String, hosts only: Set<String>? = nil, wait: Bool, timeout: Double? = nil,
                      cancellation: Cancellation = Cancellation(), before: [String: [String: Int64]] = [:],
                      onHost: @escaping @Sendable (HostHealth) -> Void = { _ in }) async throws -> [HostHealth] {
        let owned = ActualState.owned(try await hypervisor.domains()).filter { $0.metadata.environment == environment }
        let hosts = owned.filter { only?.contains($0.1.host) ?? true }
        let leases = LeaseCache(hypervisor: hypervisor)
        let start = Date()
        // What `dns:NAME` probes expect: each host's first address, by its name (in any domain).
        var addresses: [String: String] = [:]
        for (_, metadata) in owned { addresses[metadata.host] = metadata.interfaces.first?.address }
        let known = addresses
        return await withTaskGroup(of: (Int, HostHealth).self) { group in
            for (index, (domain, metadata)) in hosts.enumerated() {
                group.addTask {
                    let deadline = start.addingTimeInterval(timeout ?? Double(metadata.healthTimeoutSeconds))
                    let health = await checkHost(domain, metadata, environment: environment, wait: wait, deadline: deadline,
                                                 start: start, leases: leases, addresses: known, cancellation: cancellation,
                                                 before: before[metadata.host] ?? [:])
                    onHost(health)
                    return (index, health)
                }
            }
            var results: [(Int, HostHealth)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Several environments (copies of one topology) at once, their hosts in domain order.
    public func check(environments: [String], wait: Bool, timeout: Double? = nil, cancellation: Cancellation = Cancellation()) async throws -> [HostHealth] {
        try await withThrowingTaskGroup(of: [HostHealth].self) { group in
            for environment in environments {
                group.addTask { try await check(environment: environment, wait: wait, timeout: timeout, cancellation: cancellation) }
            }
            var all: [HostHealth] = []
            for try await hosts in group { all += hosts }
            return all.sorted { $0.domain < $1.domain }
        }
    }

    /// `stopWhenDown`: give up as soon as the domain is no longer running (a panicked guest's
    /// pvpanic device stops it; it will not become healthy by waiting). `before`: the host's leases
    /// as they were just before its start (see `leaseExpiries`): `lease` then passes only on a lease
    /// given again since, never on one a replaced or stopped domain left behind.
    func checkHost(_ domain: LiveDomain, _ metadata: DomainMetadata, environment: String, wait: Bool, deadline: Date,
                   start: Date, leases: LeaseCache, addresses: [String: String], cancellation: Cancellation,
                   stopWhenDown: Bool = false, before: [String: Int64] = [:]) async -> HostHealth {
        var results = metadata.probes.map { ProbeResult(probe: $0, passed: false, detail: "not tried") }
        // The environment's own probe threads, held for the whole check: another environment's
        // guests, however slowly they answer, cannot keep this one's probes waiting.
        let prober = prober.forEnvironment(environment)
        // A server that was reached but answered too slowly gets twice as long at each next try,
        // up to 8 times its first timeout and never past the deadline: on a loaded machine a banner
        // can take seconds.
        var patience = [Double](repeating: 1, count: results.count)
        var state = domain.state.rawValue
        while true {
            for index in results.indices where !results[index].passed {
                // Never past the deadline: the longest first timeout is 3 s.
                let left = max(1, deadline.timeIntervalSinceNow / 3)
                let outcome = await run(results[index].probe, prober: prober, metadata: metadata, environment: environment, leases: leases,
                                        addresses: addresses, before: before, patience: wait ? min(patience[index], left) : 1)
                results[index].passed = outcome.problem == nil
                results[index].detail = outcome.problem ?? ""
                if let problem = outcome.problem, ProbeProblem.isSlow(problem) { patience[index] = min(patience[index] * 2, 8) }
                if let observed = outcome.state { state = observed }
            }
            if results.allSatisfy(\.passed) || !wait || Date() >= deadline || cancellation.isCancelled { break }
            if stopWhenDown, let current = try? await hypervisor.domainState(name: domain.name), current != .running {
                state = current.rawValue
                break
            }
            try? await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
            await leases.invalidate()
        }
        let healthy = results.allSatisfy(\.passed)
        return HostHealth(host: metadata.host, domain: domain.name, state: state, addresses: metadata.interfaces.map(\.address),
                          probes: results, seconds: healthy ? Date().timeIntervalSince(start) : nil)
    }

    /// Whether the domain's QEMU guest agent answers a `guest-ping`.
    func agentAnswers(domain: String, timeoutSeconds: Int = 2) async -> Bool {
        (try? await hypervisor.guestAgentCommand(domain: domain, json: #"{"execute":"guest-ping"}"#, timeoutSeconds: timeoutSeconds)) != nil
    }

    /// Every host's `leaseExpiries`, by host name.
    public func leaseExpiries(environment: String) async throws -> [String: [String: Int64]] {
        var expiries: [String: [String: Int64]] = [:]
        let leases = LeaseCache(hypervisor: hypervisor)
        for (_, metadata) in ActualState.owned(try await hypervisor.domains()) where metadata.environment == environment {
            expiries[metadata.host] = await leaseExpiries(metadata, leases: leases)
        }
        return expiries
    }

    /// When each DHCP interface's lease of the host runs out now (by MAC; absent: no lease), read
    /// just before the host is started.
    func leaseExpiries(_ metadata: DomainMetadata, leases: LeaseCache? = nil) async -> [String: Int64] {
        let leases = leases ?? LeaseCache(hypervisor: hypervisor)
        var expiries: [String: Int64] = [:]
        for interface in metadata.interfaces where interface.dhcp {
            let held = await leases.leases(network: Naming.object(environment: metadata.environment, name: interface.network))
            if let lease = held.first(where: { $0.mac.lowercased() == interface.mac }) { expiries[interface.mac] = lease.expiry }
        }
        return expiries
    }

    /// Why `interface` does not hold its lease in `held`; `before`: when the lease it held just
    /// before the host's start ran out. A lease that never runs out (0) cannot tell its age; any
    /// other must have been given again since the start.
    public static func leaseProblem(_ interface: DomainMetadataInterface, held: [DHCPLease], before: Int64?) -> String? {
        guard let lease = held.first(where: { $0.mac.lowercased() == interface.mac && $0.address == interface.address }) else {
            return "no lease of \(interface.address) on \(interface.network)"
        }
        if let before, lease.expiry != 0, lease.expiry <= before {
            return "the lease of \(interface.address) is from before this start"
        }
        return nil
    }

    private func run(_ probe: String, prober: any GuestProber, metadata: DomainMetadata, environment: String, leases: LeaseCache,
                     addresses: [String: String], before: [String: Int64], patience: Double) async -> (problem: String?, state: String?) {
        let address = metadata.interfaces.first?.address ?? ""
        if probe == "running" {
            guard let state = try? await hypervisor.domainState(name: Naming.object(environment: environment, name: metadata.host)) else { return ("no such domain", nil) }
            return (state == .running ? nil : state.rawValue, state.rawValue)
        }
        if probe == "lease" {
            for interface in metadata.interfaces where interface.dhcp {
                let held = await leases.leases(network: Naming.object(environment: environment, name: interface.network))
                if let problem = Self.leaseProblem(interface, held: held, before: before[interface.mac]) { return (problem, nil) }
            }
            return (nil, nil)
        }
        if probe == "agent" {
            let answers = await agentAnswers(domain: Naming.object(environment: environment, name: metadata.host), timeoutSeconds: Int(2 * patience))
            return (answers ? nil : "the guest agent does not answer", nil)
        }
        if probe.hasPrefix("tcp:"), let port = Int(probe.dropFirst(4)) {
            return (await prober.tcp(address: address, port: port, timeout: 2 * patience), nil)
        }
        if probe.hasPrefix("http:") {
            let rest = probe.dropFirst(5)
            let digits = rest.prefix { $0 != "/" }
            guard let port = Int(digits) else { return ("bad probe", nil) }
            let path = rest.dropFirst(digits.count).isEmpty ? "/" : String(rest.dropFirst(digits.count))
            // The status line is enough unless the body must hold a text: then read to the end.
            let expect = metadata.expectations[probe]
            let answer = await prober.exchange(address: address, port: port, request: ProtocolProbes.httpRequest(path: path, host: address), timeout: 3 * patience,
                                               limit: expect == nil ? 512 : 1 << 20, isComplete: { expect == nil && $0.contains(UInt8(ascii: "\n")) })
            switch answer {
            case let .failure(problem): return (problem.message, nil)
            case let .success(bytes): return (ProtocolProbes.httpProblem(answer: bytes, expect: expect), nil)
            }
        }
        if let service = ServiceProbe(rawValue: probe) {
            let answer = await prober.exchange(address: address, port: service.port, request: ProtocolProbes.request(service), timeout: 3 * patience,
                                               limit: 65536, isComplete: { ProtocolProbes.isComplete(service, $0) })
            switch answer {
            case let .failure(problem): return (problem.message, nil)
            case let .success(bytes): return (ProtocolProbes.problem(service, answer: bytes), nil)
            }
        }
        if probe.hasPrefix("dns:") {
            let name = String(probe.dropFirst(4))
            let host = String(name.prefix { $0 != "." })
            let id = UInt16.random(in: 1 ... UInt16.max)
            switch await prober.datagram(address: address, port: 53, request: ProtocolProbes.dnsQuery(name, id: id), timeout: 2 * patience) {
            case let .failure(problem): return (problem.message, nil)
            case let .success(bytes):
                switch ProtocolProbes.dnsAddresses(bytes, id: id) {
                case let .failure(problem): return (problem.message, nil)
                case let .success(found):
                    guard let expected = addresses[host] else { return (found.isEmpty ? "no address for \(name)" : nil, nil) }
                    return (found.contains(expected) ? nil : "\(name) answers \(found.joined(separator: ",")), not \(expected)", nil)
                }
            }
        }
        return ("unknown probe", nil)
    }
}

/// DHCP leases read once per round and network, however many hosts ask.
actor LeaseCache {
    let hypervisor: any Hypervisor
    private var cached: [String: [DHCPLease]] = [:]

    init(hypervisor: any Hypervisor) {
        self.hypervisor = hypervisor
    }

    func leases(network: String) async -> [DHCPLease] {
        if let leases = cached[network] { return leases }
        let leases = (try? await hypervisor.dhcpLeases(network: network)) ?? []
        cached[network] = leases
        return leases
    }

    func invalidate() {
        cached = [:]
    }
}
