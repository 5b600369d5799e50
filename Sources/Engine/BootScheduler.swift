import Foundation
import Hypervisor
import LibvirtXML
import Naming
import Planner

/// Starts an environment's hosts in order and at a pace the machine can carry, and restarts those
/// that fail to boot.
///
/// Under emulation a guest's boot costs seconds to tens of seconds of one core, so booting more
/// guests at once than there are cores only makes each boot slower (and starves kernels until some
/// panic). The scheduler keeps at most `slots` hosts booting, where a host boots from its start until
/// it is healthy; gateways, directories and DNS first (`boot-order` 0), then servers, then the
/// people's machines, across copies in turn. A host that panics (its pvpanic device stops the
/// domain), stops, or misses its health deadline (counted from its own start) is started again, up
/// to its `retries`, and the last lines of its console go with the report.
public struct BootScheduler: Sendable {
    public var hypervisor: any Hypervisor
    public var checker: HealthChecker
    /// Hosts booting at once.
    public var slots: Int
    /// Overrides each host's own health timeout, in seconds.
    public var timeout: Double?
    /// Where each host's clean state is kept when it first turns healthy (see `CleanState`); nil
    /// keeps none.
    public var cleanState: CleanState?
    /// Warm templates to restore hosts from instead of booting them (see `WarmTemplates`); nil
    /// boots every host.
    public var templates: WarmTemplates?
    /// The hosts that may start from a template: those whose overlay was just made. A host that
    /// has run keeps its disk, so it boots.
    public var cloneable: Set<String> = []
    /// Asked before every start of a host (a first boot, a restore, a restart) with its environment:
    /// nil when its firewall tables are in place, else why the host may not start (`HostIsolation`).
    public var isolation: (@Sendable (String) async -> String?)?

    public init(hypervisor: any Hypervisor, checker: HealthChecker, slots: Int, timeout: Double? = nil) {
        self.hypervisor = hypervisor
        self.checker = checker
        self.slots = max(1, slots)
        self.timeout = timeout
    }

    public enum Event: Sendable {
        case started(host: String, domain: String, attempt: Int)
        case healthy(host: String, domain: String, seconds: Double)
        case restarting(host: String, domain: String, reason: String, attempt: Int, console: [String])
        case unhealthy(host: String, domain: String, reason: String)
        /// Its clean state was kept for `reset` (`seconds`: how long the host stood still for it).
        case kept(host: String, domain: String, seconds: Double)
        case notKept(host: String, domain: String, reason: String)
        /// Restored from its image's warm template (`built`: the template was made first, in `seconds`).
        case cloned(host: String, domain: String, seconds: Double, built: Bool)
        /// It boots instead: why it could not be restored from a template.
        case notCloned(host: String, domain: String, reason: String)
        /// A host that was running already, checked (`failing`: the probes that never passed).
        case checked(host: String, domain: String, seconds: Double, failing: [String]?)
    }

    /// Boots every host of `environments` (of those named `hosts`, when given) that is not running
    /// and checks the running ones; returns their health in domain order.
    public func boot(environments: [String], hosts: Set<String>? = nil, cancellation: Cancellation = Cancellation(),
                     onEvent: @escaping @Sendable (Event) -> Void = { _ in }) async throws -> [HostHealth] {
        let every = ActualState.owned(try await hypervisor.domains()).filter { environments.contains($0.metadata.environment) }
        var addresses: [String: [String: String]] = [:]
        for (_, metadata) in every { addresses[metadata.environment, default: [:]][metadata.host] = metadata.interfaces.first?.address }
        let all = every.filter { hosts?.contains($0.metadata.host) ?? true }
        // Each environment's hosts in their boot order; copies take turns, so each gets its router first.
        var position: [String: Int] = [:]
        let ordered = all.enumerated().map { index, host -> (key: [Int], host: (LiveDomain, DomainMetadata)) in
            let environment = environments.firstIndex(of: host.1.environment) ?? 0
            let rank = position[host.1.environment + "/\(host.1.bootOrder)", default: 0]
            position[host.1.environment + "/\(host.1.bootOrder)"] = rank + 1
            return ([host.1.bootOrder, rank, environment, index], host)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.host)

        let gate = BootGate(slots: slots)
        let leases = LeaseCache(hypervisor: hypervisor)
        var health = await withTaskGroup(of: HostHealth.self) { group in
            // Hosts already running need no slot: they are only checked.
            for (domain, metadata) in ordered where domain.state == .running {
                let known = addresses[metadata.environment] ?? [:]
                group.addTask {
                    let start = Date()
                    let deadline = start.addingTimeInterval(timeout ?? Double(metadata.healthTimeoutSeconds))
                    let health = await checker.checkHost(domain, metadata, environment: metadata.environment, wait: true, deadline: deadline, start: start,
                                                         leases: leases, addresses: known, cancellation: cancellation)
                    let failing = health.probes.filter { !$0.passed }.map(\.probe)
                    onEvent(.checked(host: metadata.host, domain: domain.name, seconds: Date().timeIntervalSince(start),
                                     failing: failing.isEmpty ? nil : failing))
                    return health
                }
            }
            for (domain, metadata) in ordered where domain.state != .running {
                await gate.acquire()
                if cancellation.isCancelled {
                    await gate.release()
                    break
                }
                let known = addresses[metadata.environment] ?? [:]
                group.addTask {
                    let health = await bootHost(domain, metadata, leases: leases, addresses: known, cancellation: cancellation, onEvent: onEvent)
                    await gate.release()
                    return health
                }
            }
            var results: [HostHealth] = []
            for await health in group { results.append(health) }
            return results.sorted { $0.domain < $1.domain }
        }
        guard let cleanState, !cancellation.isCancelled else { return health }
        // The environments where a host started: their new clean states, kept at one moment.
        let started = Set(all.filter { $0.0.state != .running }.map(\.1.environment))
        for environment in environments where started.contains(environment) {
            // The hosts started now, and those running without a state of their digest: a host that
            // ran on since its state was kept is not clean any more, and keeps the state it has.
            let members = all.filter { domain, metadata in
                metadata.environment == environment
                    && (domain.state != .running || cleanState.usable(environment: environment, host: metadata.host, digest: metadata.digest) == nil)
            }
            // Keeping a state stops each guest and starts it again: only behind its tables.
            if let isolation, let problem = await isolation(environment) {
                for (domain, metadata) in members { onEvent(.notKept(host: metadata.host, domain: domain.name, reason: problem)) }
                continue
            }
            let again = await keepTogether(cleanState, members, health: health, leases: leases, addresses: addresses[environment] ?? [:],
                                           cancellation: cancellation, onEvent: onEvent)
            for checked in again {
                if let index = health.firstIndex(where: { $0.domain == checked.domain }) { health[index] = checked }
            }
        }
        return health
    }

    private func bootHost(_ domain: LiveDomain, _ metadata: DomainMetadata, leases: LeaseCache, addresses: [String: String],
                          cancellation: Cancellation, onEvent: @escaping @Sendable (Event) -> Void) async -> HostHealth {
        var attempt = 1
        var lastConsole: [String] = []
        var restoredFrom: String?
        while true {
            let before = await checker.leaseExpiries(metadata)
            var start = Date()
            do {
                if let isolation, let problem = await isolation(metadata.environment) { throw NotIsolated(problem: problem) }
                if (try? await hypervisor.domainState(name: domain.name)) != .running {
                    restoredFrom = await cloned(domain.name, metadata, attempt: attempt, onEvent: onEvent)
                    // Its deadline counts from the restore, not from the making of its template.
                    if restoredFrom != nil { start = Date() } else { try await hypervisor.startDomain(name: domain.name) }
                }
            } catch {
                var health = HostHealth(host: metadata.host, domain: domain.name, state: "shutoff", addresses: metadata.interfaces.map(\.address),
                                        probes: [ProbeResult(probe: "running", passed: false, detail: "could not start: \(error)")])
                health.attempts = attempt
                onEvent(.unhealthy(host: metadata.host, domain: domain.name, reason: "could not start: \(error)"))
                return health
            }
            onEvent(.started(host: metadata.host, domain: domain.name, attempt: attempt))
            let deadline = start.addingTimeInterval(timeout ?? Double(metadata.healthTimeoutSeconds))
            var health = await checker.checkHost(domain, metadata, environment: metadata.environment, wait: true, deadline: deadline, start: start,
                                                 leases: leases, addresses: addresses, cancellation: cancellation, stopWhenDown: true,
                                                 before: before)
            health.attempts = attempt
            health.restoredFrom = restoredFrom
            if health.healthy {
                if attempt > 1 { health.console = lastConsole }
                onEvent(.healthy(host: metadata.host, domain: domain.name, seconds: Date().timeIntervalSince(start)))
                return health
            }
            let state = (try? await hypervisor.domainState(name: domain.name)) ?? .unknown
            let reason = state == .running
                ? "not healthy \(Int(Date().timeIntervalSince(start))) s after its start (\(health.probes.filter { !$0.passed }.map(\.probe).joined(separator: ", ")))"
                : "its domain is \(state.rawValue) (a kernel panic stops it)"
            lastConsole = await consoleTail(domain.name)
            health.console = lastConsole
            guard attempt <= metadata.retries, !cancellation.isCancelled else {
                onEvent(.unhealthy(host: metadata.host, domain: domain.name, reason: reason))
                return health
            }
            onEvent(.restarting(host: metadata.host, domain: domain.name, reason: reason, attempt: attempt + 1, console: lastConsole))
            if state == .running || state == .paused || state == .crashed { try? await hypervisor.stopDomain(name: domain.name) }
            attempt += 1
        }
    }

    struct NotIsolated: Error, CustomStringConvertible {
        var problem: String
        var description: String { problem }
    }

    /// Starts the host from its warm template on its first attempt; the template when it was. A
    /// restart boots it, from its image.
    private func cloned(_ domain: String, _ metadata: DomainMetadata, attempt: Int, onEvent: @escaping @Sendable (Event) -> Void) async -> String? {
        guard let templates, cloneable.contains(domain) else { return nil }
        guard attempt == 1 else {
            await templates.uncloned(domain: domain, metadata: metadata)
            return nil
        }
        switch await templates.start(domain: domain, metadata: metadata) {
        case let .cloned(template, seconds, built):
            onEvent(.cloned(host: metadata.host, domain: domain, seconds: seconds, built: built))
            return template
        case let .boot(reason):
            if let reason { onEvent(.notCloned(host: metadata.host, domain: domain, reason: reason)) }
            return nil
        }
    }

    /// Keeps the clean states of an environment's healthy hosts at one moment (`CleanState.keepTogether`):
    /// those whose guest agent answers (a restored guest needs it to step its clock and renew its
    /// lease) and that are not stealthy (they have none). Returns the health of any host that had
    /// to boot again from its disk, checked again.
    private func keepTogether(_ cleanState: CleanState, _ hosts: [(LiveDomain, DomainMetadata)], health: [HostHealth], leases: LeaseCache,
                              addresses: [String: String], cancellation: Cancellation, onEvent: @escaping @Sendable (Event) -> Void) async -> [HostHealth] {
        let healthy = Set(health.filter(\.healthy).map(\.domain))
        let candidates = hosts.filter { healthy.contains($0.0.name) && !$0.1.stealth }
        guard let environment = candidates.first?.1.environment,
              let volumes = try? await hypervisor.volumes(pool: Naming.pool(environment: environment)) else { return [] }
        let overlays = Dictionary(volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        // Health may pass a moment before the agent starts (a PC starts it after its network).
        let answering = await withTaskGroup(of: String?.self) { group in
            for (domain, _) in candidates {
                group.addTask {
                    for _ in 0 ..< 20 {
                        if await checker.agentAnswers(domain: domain.name) { return domain.name }
                        try? await Task.sleep(nanoseconds: 500_000_000)
                    }
                    return nil
                }
            }
            var names = Set<String>()
            for await name in group { if let name { names.insert(name) } }
            return names
        }
        let members = candidates.compactMap { domain, metadata -> CleanState.Member? in
            guard answering.contains(domain.name), let overlay = overlays[Naming.overlay(domain: domain.name)] else { return nil }
            return CleanState.Member(domain: domain.name, metadata: metadata, overlay: overlay)
        }
        guard !members.isEmpty else { return [] }
        let start = Date()
        let outcomes = await cleanState.keepTogether(members)
        var again: [HostHealth] = []
        for member in members {
            let host = member.metadata.host, domain = member.domain
            switch outcomes[domain] ?? .notKept("not kept") {
            case .kept:
                onEvent(.kept(host: host, domain: domain, seconds: Date().timeIntervalSince(start)))
            case let .notKept(reason):
                onEvent(.notKept(host: host, domain: domain, reason: reason))
            case let .rebooted(reason):
                onEvent(.notKept(host: host, domain: domain, reason: reason + "; it booted again from its disk"))
                // Healthy only once it answers again.
                let now = Date()
                guard let live = hosts.first(where: { $0.0.name == domain })?.0 else { continue }
                var checked = await checker.checkHost(live, member.metadata, environment: member.metadata.environment, wait: true,
                                                      deadline: now.addingTimeInterval(timeout ?? Double(member.metadata.healthTimeoutSeconds)), start: now,
                                                      leases: leases, addresses: addresses, cancellation: cancellation, stopWhenDown: true,
                                                      before: await checker.leaseExpiries(member.metadata))
                checked.attempts = health.first { $0.domain == domain }?.attempts
                checked.restoredFrom = health.first { $0.domain == domain }?.restoredFrom
                if !checked.healthy { onEvent(.unhealthy(host: host, domain: domain, reason: "not healthy after starting again from its disk")) }
                again.append(checked)
            }
        }
        return again
    }

    /// The console's last lines, from the log libvirt keeps of it (on this machine only).
    private func consoleTail(_ domain: String, lines: Int = 8) async -> [String] {
        guard let definition = try? await hypervisor.domainXML(name: domain), let path = Resetter.consoleLog(in: definition),
              let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 16384 ? size - 16384 : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        // `\r\n` is one Character in Swift: split on any newline.
        return text.split(whereSeparator: \.isNewline).map { String($0) }
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.suffix(lines).map { $0 }
    }
}

/// A counting semaphore for boot slots, handed out in the order asked.
actor BootGate {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(slots: Int) { free = slots }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
