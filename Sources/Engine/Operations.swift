import Compiler
import Diagnostics
import Foundation
import Hypervisor
import Naming
import Observe
import Planner
import Topology

/// What an operation reports while it runs. The command line prints these; the server keeps them
/// with the job and streams them to pages and API clients: the same events for both.
public struct OperationEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// A line for people: what the operation is doing now.
        case info
        /// A problem that stops the operation (address conflicts, resources, libvirt errors).
        case error
        /// A plan was made for an environment (`message` is its summary line).
        case plan
        case stepBegan = "step-began"
        case stepDone = "step-done"
        case stepFailed = "step-failed"
        case stepSkipped = "step-skipped"
        /// The boot scheduler started a host (`attempt` > 1: a restart).
        case bootStarted = "boot-started"
        case healthy
        case restarting
        case unhealthy
    }

    public var kind: Kind
    public var message: String
    public var environment: String?
    /// The host's libvirt domain name, for boot and health events.
    public var domain: String?
    public var seconds: Double?
    public var attempt: Int?
    /// A console's last lines, for restarts.
    public var lines: [String]?

    public init(_ kind: Kind, _ message: String, environment: String? = nil, domain: String? = nil, seconds: Double? = nil,
                attempt: Int? = nil, lines: [String]? = nil) {
        self.kind = kind
        self.message = message
        self.environment = environment
        self.domain = domain
        self.seconds = seconds
        self.attempt = attempt
        self.lines = lines
    }

    static func step(_ event: WalkEvent) -> OperationEvent {
        switch event {
        case let .began(_, label): return OperationEvent(.stepBegan, label)
        case let .finished(_, label, result):
            switch result {
            case let .done(seconds): return OperationEvent(.stepDone, label, seconds: seconds)
            case let .failed(message): return OperationEvent(.stepFailed, "\(label): \(message)")
            case let .skipped(because): return OperationEvent(.stepSkipped, "\(label): skipped, because \(because) failed")
            case .notStarted: return OperationEvent(.stepSkipped, "\(label): not started (interrupted)")
            }
        }
    }

    static func boot(_ event: BootScheduler.Event) -> OperationEvent {
        switch event {
        case let .started(host, domain, attempt):
            return OperationEvent(.bootStarted, attempt > 1 ? "boot \(host) (attempt \(attempt))" : "boot \(host)", domain: domain, attempt: attempt)
        case let .healthy(host, domain, seconds):
            return OperationEvent(.healthy, String(format: "%@ healthy after %.1fs", host, seconds), domain: domain, seconds: seconds)
        case let .restarting(host, domain, reason, attempt, console):
            return OperationEvent(.restarting, "restarting \(host) (attempt \(attempt)): \(reason)", domain: domain, attempt: attempt, lines: console)
        case let .unhealthy(host, domain, reason):
            return OperationEvent(.unhealthy, "\(host) unhealthy: \(reason)", domain: domain)
        case let .kept(host, domain, seconds):
            return OperationEvent(.info, String(format: "%@: clean state kept for reset (%.1fs)", host, seconds), domain: domain, seconds: seconds)
        case let .notKept(host, domain, reason):
            return OperationEvent(.error, "warning: \(host): no clean state kept, reset will boot it: \(reason)", domain: domain)
        case let .cloned(host, domain, seconds, built):
            return OperationEvent(.info, String(format: built ? "%@: restored from a warm template made for it (%.1fs)" : "%@: restored from a warm template (%.1fs)",
                                                host, seconds), domain: domain, seconds: seconds)
        case let .notCloned(host, domain, reason):
            return OperationEvent(.error, "warning: \(host) boots: \(reason)", domain: domain)
        case let .checked(host, domain, seconds, failing?):
            return OperationEvent(.unhealthy, String(format: "%@ unhealthy after %.1fs: %@ failing", host, seconds, failing.joined(separator: ", ")), domain: domain)
        case let .checked(host, domain, seconds, nil):
            // Not counted with the hosts booted: it was running already.
            return OperationEvent(.info, String(format: "%@ healthy (running already; checked in %.1fs)", host, seconds), domain: domain, seconds: seconds)
        }
    }
}

/// An operation that could not start or go on: the problems, each a sentence, and what to do.
public struct OperationFailure: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var hint: String?

    public init(_ problems: [String], hint: String? = nil) {
        self.problems = problems
        self.hint = hint
    }

    public var description: String { (problems + (hint.map { [$0] } ?? [])).joined(separator: "; ") }
}

/// A plan as people and pipelines read it.
public struct PlanReport: Sendable, Codable {
    public struct Action: Sendable, Codable {
        public var action: String
        public var resource: String
        public var name: String
        public var reason: String
    }

    public var environment: String
    public var uri: String
    public var changes: Bool
    public var summary: [String: Int]
    public var actions: [Action]

    public init(_ plan: Plan, uri: String) {
        environment = plan.environment
        self.uri = uri
        changes = !plan.isEmpty
        summary = Dictionary(uniqueKeysWithValues: PlannedAction.Kind.allCases.map { ($0.rawValue, plan.count($0)) })
        actions = plan.actions.map { Action(action: $0.kind.rawValue, resource: $0.resource.rawValue, name: $0.name, reason: $0.reason) }
    }
}

/// One step's outcome.
public struct StepReport: Sendable, Codable {
    public var step: String
    public var result: String
    public var seconds: Double?
    public var message: String?

    public static func from(_ outcomes: [VertexOutcome]) -> [StepReport] {
        outcomes.map { outcome in
            switch outcome.result {
            case let .done(seconds): StepReport(step: outcome.label, result: "done", seconds: (seconds * 1000).rounded() / 1000)
            case let .failed(message): StepReport(step: outcome.label, result: "failed", message: message)
            case let .skipped(because): StepReport(step: outcome.label, result: "skipped", message: "\(because) failed")
            case .notStarted: StepReport(step: outcome.label, result: "not started")
            }
        }
    }

    public var completed: Bool { result == "done" }
}

/// Every operation on environments, one call each, reporting progress as events. The command line
/// and the server only read their input, call these, and render what comes back.
public struct Operations: Sendable {
    public typealias Events = @Sendable (OperationEvent) -> Void

    public var hypervisor: any Hypervisor
    public var prober: any GuestProber
    /// libvirt calls at once in a walk.
    public var parallelism: Int
    /// Where overlays go.
    public var poolRoot: String
    /// Packet captures run next to a local libvirtd only.
    public var capture: (any TrafficCapture)?
    /// The watchers of observed environments (beside the captures they read).
    public var watchers: (any WatcherControl)?
    /// The firewall tables every guest starts behind (on this machine's QEMU only).
    public var isolation = HostIsolation()
    /// Called once when another command holds an environment's lock, before waiting for it.
    public var waiting: @Sendable (String) -> Void = { _ in }

    public init(hypervisor: any Hypervisor, prober: any GuestProber, parallelism: Int = 8, poolRoot: String = Deployer.defaultPoolRoot,
                capture: (any TrafficCapture)? = nil) {
        self.hypervisor = hypervisor
        self.prober = prober
        self.parallelism = parallelism
        self.poolRoot = poolRoot
        self.capture = capture
    }

    /// Where overlays go: `DECOYNET_POOL_ROOT` when set, else the default.
    public static var poolRootFromEnvironment: String {
        ProcessInfo.processInfo.environment["DECOYNET_POOL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? Deployer.defaultPoolRoot
    }

    // MARK: - Validate

    /// A topology read, checked and lowered. `forDeploy` on a local QEMU connection: a base image
    /// that is missing is an error, since nothing could boot.
    /// `imageRoots`: folders every image file must be in (for topologies that are not trusted).
    public static func load(path: String, templates: String?, instance: InstanceSelector? = nil,
                            forDeploy: Bool, uri: String?, imageRoots: [String]? = nil,
                            templateRoots: [String]? = nil) -> (environment: ResolvedEnvironment?, diagnostics: [Diagnostic]) {
        let images = ImagePolicy(requireFiles: forDeploy && (uri.map(Naming.isLocalQEMU) ?? true), allowedRoots: imageRoots)
        let result = Compiler.lower(path: path, projectTemplates: templates, instance: instance, images: images, templateRoots: templateRoots)
        return (result.diagnostics.hasErrors ? nil : result.environment, result.diagnostics)
    }

    // MARK: - Plan

    /// What apply would do, changing nothing (address conflicts refused as apply refuses them).
    public func plan(_ environments: [ResolvedEnvironment], acceleration: Acceleration) async throws -> [Plan] {
        let conflicts = try await AddressCheck.conflicts(environments, hypervisor: hypervisor)
        guard conflicts.isEmpty else {
            throw OperationFailure(conflicts, hint: "choose other addresses (or other copies) for these networks")
        }
        var plans: [Plan] = []
        for environment in environments {
            plans.append(try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: acceleration, poolRoot: poolRoot).plan)
        }
        return plans
    }

    // MARK: - Apply

    public struct ApplyOptions: Sendable {
        public var acceleration: Acceleration
        public var wait: Bool
        /// Seconds to wait for health, instead of each host's own timeout.
        public var timeout: Double?
        public var bootSlots: Int
        public var overcommit: Double
        /// On a local QEMU connection, refuse plans that do not fit this machine.
        public var checkResources: Bool
        /// On a local QEMU connection, keep each host's clean state when it turns healthy, for `reset`.
        public var keepCleanState: Bool = true
        /// On a local QEMU connection, start hosts by restore from their image's warm template
        /// (made at the first host that needs it) instead of by boot.
        public var warmTemplates: Bool = true

        public init(acceleration: Acceleration, wait: Bool = true, timeout: Double? = nil,
                    bootSlots: Int = ProcessInfo.processInfo.activeProcessorCount, overcommit: Double = 1.5, checkResources: Bool = true) {
            self.acceleration = acceleration
            self.wait = wait
            self.timeout = timeout
            self.bootSlots = bootSlots
            self.overcommit = overcommit
            self.checkResources = checkResources
        }
    }

    /// Environments locked, checked and planned: nothing has changed yet. The locks are held until
    /// `apply` has run it (or this is released unapplied).
    public final class PreparedApply: @unchecked Sendable {
        public let planned: [(plan: Plan, desired: DesiredState)]
        public let environments: [ResolvedEnvironment]
        /// The steps the walk will run (unless waiting, domains are defined here and started by the boot scheduler).
        public let steps: [Vertex]
        private let guard_ = NSLock()
        private var locks: [EnvironmentLock]

        init(planned: [(plan: Plan, desired: DesiredState)], environments: [ResolvedEnvironment], steps: [Vertex], locks: [EnvironmentLock]) {
            self.planned = planned
            self.environments = environments
            self.steps = steps
            self.locks = locks
        }

        /// Lets other commands at the environments again.
        public func release() {
            guard_.withLock { locks = [] }
        }

        /// Hosts the boot scheduler will start or check.
        public var hosts: Int { environments.reduce(0) { $0 + $1.hosts.count } }

        public var changes: Int { planned.reduce(0) { $0 + $1.plan.actions.filter { $0.kind != .keep }.count } }
    }

    public struct ApplyReport: Sendable, Codable {
        public var plans: [PlanReport]
        public var steps: [StepReport]
        public var health: [HostHealth]?
        public var restarted: [String]
        public var succeeded: Bool
        public var interrupted: Bool
    }

    /// Locks the environments, refuses address conflicts and (locally) plans that do not fit, and plans.
    /// Why stealthy hosts cannot run on this machine's renamed QEMU: missing, or made from another
    /// QEMU than the one installed now (an upgrade since: its modules would not match).
    static func stealthEmulatorProblem(system: String = "/usr/bin/qemu-system-x86_64") -> String? {
        guard FileManager.default.isExecutableFile(atPath: Naming.stealthEmulator) else { return "is missing" }
        let stamp = (try? String(contentsOfFile: Naming.stealthEmulator + ".source-sha256", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let installed = try? EvidenceFolder.describe(system, relativeTo: "").sha256 else { return nil }
        return stamp == installed ? nil : "was made from another QEMU than \(system)"
    }

    public func prepareApply(_ environments: [ResolvedEnvironment], options: ApplyOptions) async throws -> PreparedApply {
        let locks = try await lock(environments.map(\.name))
        let conflicts = try await AddressCheck.conflicts(environments, hypervisor: hypervisor)
        guard conflicts.isEmpty else {
            throw OperationFailure(conflicts, hint: "nothing was changed; choose other addresses (or other copies) for these networks")
        }
        var planned: [(plan: Plan, desired: DesiredState)] = []
        for environment in environments {
            let (desired, plan) = try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: options.acceleration, poolRoot: poolRoot)
            planned.append((plan, desired))
        }
        // Stealthy hosts run DecoyNet's renamed QEMU, which this machine must have.
        let stealthy = environments.flatMap { environment in environment.hosts.filter(\.stealth).map { "\(environment.name)/\($0.name)" } }
        if !stealthy.isEmpty, Naming.isLocalQEMU(hypervisor.uri), let problem = Self.stealthEmulatorProblem() {
            throw OperationFailure(["stealthy hosts (\(stealthy.prefix(3).joined(separator: ", "))\(stealthy.count > 3 ? ", ..." : "")) run "
                                    + "\(Naming.stealthEmulator), which \(problem)"],
                                   hint: "nothing was changed; make it with scripts/stealth-qemu.py /usr/bin/qemu-system-x86_64 /var/lib/decoynet/qemu (make lab does)")
        }
        if options.checkResources, Naming.isLocalQEMU(hypervisor.uri), let available = ResourceCheck.available(poolRoot: poolRoot) {
            let problems = ResourceCheck.problems(ResourceCheck.needs(planned), available: available, overcommit: options.overcommit)
            if !problems.isEmpty { throw OperationFailure(problems, hint: "nothing was changed") }
        }
        let steps = Deployer.steps(planned, hypervisor: hypervisor, capture: capture, startDomains: !options.wait)
        return PreparedApply(planned: planned, environments: environments, steps: steps, locks: locks)
    }

    /// Carries out a prepared apply: the steps in one parallel walk, then (unless told not to wait)
    /// the boot scheduler until every host is healthy.
    public func apply(_ prepared: PreparedApply, options: ApplyOptions, cancellation: Cancellation = Cancellation(),
                      events: @escaping Events = { _ in }) async throws -> ApplyReport {
        defer { prepared.release() }
        if Naming.isLocalQEMU(hypervisor.uri) {
            // Before any guest starts: its tap is held to its addresses from its first frame, and
            // its networks kept from other environments'. Without them nothing is made.
            do throws(HostIsolation.Failure) {
                try isolation.prepare(prepared.environments)
            } catch {
                throw OperationFailure(["the firewall tables could not be loaded: \(error)"],
                                       hint: "no guest was made or started; guests start only behind them (DecoyNet needs nftables where libvirtd runs: nft list tables)")
            }
        }
        for (plan, _) in prepared.planned {
            events(OperationEvent(.plan, "\(plan.environment): \(plan.count(.create)) to create, \(plan.count(.replace)) to replace, "
                + "\(plan.count(.update)) to update, \(plan.count(.start)) to start, \(plan.count(.delete)) to delete, \(plan.count(.keep)) unchanged",
                environment: plan.environment))
        }
        let outcomes = try await GraphWalker.walk(prepared.steps, parallelism: parallelism, cancellation: cancellation) { events(.step($0)) }
        let steps = StepReport.from(outcomes)
        // Watched before any guest boots: an attacker's first moves are in the timeline.
        if steps.allSatisfy(\.completed), !cancellation.isCancelled { watch(prepared.environments, events: events) }
        var health: [HostHealth]?
        if steps.allSatisfy(\.completed), options.wait, !cancellation.isCancelled {
            events(OperationEvent(.info, "booting and waiting for health (\(prepared.hosts) hosts, \(options.bootSlots) at once)"))
            var checker = HealthChecker(hypervisor: hypervisor, prober: prober)
            // A boot slot is free again as soon as its host is seen healthy.
            checker.interval = 0.5
            var scheduler = BootScheduler(hypervisor: hypervisor, checker: checker, slots: options.bootSlots, timeout: options.timeout)
            scheduler.isolation = isolationCheck(events: events)
            if Naming.isLocalQEMU(hypervisor.uri), options.keepCleanState { scheduler.cleanState = CleanState(hypervisor: hypervisor) }
            if Naming.isLocalQEMU(hypervisor.uri), options.warmTemplates {
                scheduler.templates = WarmTemplates(hypervisor: hypervisor)
                scheduler.cloneable = Set(prepared.planned.flatMap(\.plan.actions).filter { $0.resource == .domain && ($0.kind == .create || $0.kind == .replace) }.map(\.name))
            }
            health = try await scheduler.boot(environments: prepared.environments.map(\.name), cancellation: cancellation) { events(.boot($0)) }
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        return ApplyReport(plans: prepared.planned.map { PlanReport($0.plan, uri: hypervisor.uri) }, steps: steps, health: health,
                           restarted: (health ?? []).filter { ($0.attempts ?? 1) > 1 }.map(\.domain),
                           succeeded: steps.allSatisfy(\.completed) && healthy, interrupted: cancellation.isCancelled)
    }

    /// Starts (or keeps) the watcher of every observed environment; stops those no longer observed.
    private func watch(_ environments: [ResolvedEnvironment], events: Events) {
        guard let watchers, let captures = (capture as? LocalTrafficCapture)?.root else { return }
        for environment in environments {
            guard let keep = environment.observeBytes else {
                watchers.stop(environment: environment.name)
                continue
            }
            let settings = WatchSettings(book: AddressBook(environment), captures: captures + "/" + environment.name, keepBytes: keep,
                                         facts: EnvironmentFacts(environment))
            do {
                if try watchers.ensure(environment: environment.name, settings: settings) {
                    events(OperationEvent(.info, "watching \(environment.name): its timeline is \(watchers.timeline(environment: environment.name))",
                                          environment: environment.name))
                }
            } catch {
                events(OperationEvent(.error, "warning: \(environment.name) is not watched: \(error)", environment: environment.name))
            }
        }
    }

    // MARK: - Destroy

    public struct DestroyReport: Sendable, Codable {
        public var environments: [String]
        public var objects: Int
        public var steps: [StepReport]
        public var succeeded: Bool
        public var interrupted: Bool
    }

    /// Removes every domain, overlay, network, capture and pool of the environments, and nothing else.
    public func destroy(_ names: [String], cancellation: Cancellation = Cancellation(), events: @escaping Events = { _ in }) async throws -> DestroyReport {
        let locks = try await lock(names)
        defer { withExtendedLifetime(locks) {} }
        // The timeline is kept (it is the record of what happened, moved aside below); its watcher stops first.
        for name in names { watchers?.stop(environment: name) }
        var plans: [Plan] = []
        for name in names { plans.append(try await Deployer.destroyPlan(environment: name, hypervisor: hypervisor)) }
        let vertices = Deployer.destroySteps(plans, hypervisor: hypervisor, capture: capture)
        let outcomes = try await GraphWalker.walk(vertices, parallelism: parallelism, cancellation: cancellation) { events(.step($0)) }
        let steps = StepReport.from(outcomes)
        if Naming.isLocalQEMU(hypervisor.uri), steps.allSatisfy(\.completed) {
            for name in names {
                if let problem = isolation.remove(environment: name) {
                    events(OperationEvent(.error, "warning: the firewall tables of \(name) may be left: \(problem) (nft list tables)", environment: name))
                }
            }
        }
        if steps.allSatisfy(\.completed) {
            for name in names {
                CleanState(hypervisor: hypervisor).remove(environment: name)
                if let kept = watchers?.archive(environment: name) {
                    events(OperationEvent(.info, "the timeline and runs of \(name) are kept in \(kept)", environment: name))
                }
            }
        }
        return DestroyReport(environments: names, objects: plans.reduce(0) { $0 + $1.actions.count }, steps: steps,
                             succeeded: steps.allSatisfy(\.completed), interrupted: cancellation.isCancelled)
    }

    // MARK: - Reset

    public struct ResetReport: Sendable, Codable {
        public var environment: String
        public var hosts: [String]
        public var steps: [StepReport]
        public var evidence: String?
        public var manifest: EvidenceManifest?
        /// Hosts restored from their clean state; the others booted.
        public var restored: [String]
        /// Hosts whose clean state did not restore, and why (they booted instead).
        public var warnings: [String]
        public var health: [HostHealth]?
        public var succeeded: Bool
        public var interrupted: Bool
    }

    /// Returns hosts to their clean state, keeping what the guests changed as evidence when asked;
    /// then (when `wait`) waits until they are healthy again.
    public func reset(_ environment: String, options: Resetter.Options, wait: Bool = true, timeout: Double? = nil,
                      bootSlots: Int = ProcessInfo.processInfo.activeProcessorCount,
                      cancellation: Cancellation = Cancellation(), events: @escaping Events = { _ in }) async throws -> ResetReport {
        let locks = try await lock([environment])
        defer { withExtendedLifetime(locks) {} }
        var options = options
        options.parallelism = parallelism
        // Waiting, the hosts that are not restored are booted as apply boots them: a few at a time,
        // each until it is healthy, again when it fails to. Without waiting they start at once.
        options.bootNow = !wait
        // Nothing is stopped unless every guest can start again behind its tables.
        try ensureIsolation(environment, reload: true, events: events, then: "nothing was stopped")
        let report = try await Resetter.reset(environment: environment, options: options, hypervisor: hypervisor, capture: capture,
                                              cancellation: cancellation) { events(.step($0)) }
        let steps = StepReport.from(report.outcomes)
        for warning in report.warnings { events(OperationEvent(.error, "warning: \(warning)", environment: environment)) }
        if !report.restored.isEmpty {
            events(OperationEvent(.info, "restored from their clean state: \(report.restored.joined(separator: ", "))", environment: environment))
        }
        var health: [HostHealth]?
        // Interrupted (or failing) before the hosts left stopped were booted, they start at once:
        // a reset does not leave a host it reset off.
        if wait, cancellation.isCancelled { await start(environment, hosts: report.stopped, events: events) }
        if wait, !cancellation.isCancelled {
            // The hosts whose reset completed, even when another's failed: a host whose step failed
            // may hold its old disk still, and is not started on it.
            if !report.stopped.isEmpty {
                events(OperationEvent(.info, "booting \(report.stopped.count) hosts, \(bootSlots) at once", environment: environment))
            }
            events(OperationEvent(.info, "waiting for health (\(report.hosts.count) hosts)", environment: environment))
            var checker = HealthChecker(hypervisor: hypervisor, prober: prober)
            // As apply's boot scheduler polls: a host is seen healthy within half a second.
            checker.interval = 0.5
            // A restored guest keeps the lease it held when saved (libvirt's table sees no renewal:
            // dnsmasq reports none); its answer to the agent's clock step was this start's evidence.
            // A booted one is healthy on a lease given since its start.
            var scheduler = BootScheduler(hypervisor: hypervisor, checker: checker, slots: bootSlots, timeout: timeout)
            scheduler.isolation = isolationCheck(events: events)
            // A restored host turns healthy as a booted one does, on the page and in the count.
            let onEvent: @Sendable (BootScheduler.Event) -> Void = { event in
                if case let .checked(host, domain, seconds, nil) = event {
                    events(OperationEvent(.healthy, String(format: "%@ healthy after %.1fs", host, seconds), environment: environment, domain: domain, seconds: seconds))
                } else {
                    events(.boot(event))
                }
            }
            do {
                health = try await scheduler.boot(environments: [environment], hosts: Set(report.completed), cancellation: cancellation, onEvent: onEvent)
            } catch {
                await start(environment, hosts: report.stopped, events: events)
                throw error
            }
            // The scheduler stops starting hosts when interrupted: those it did not reach start now.
            if cancellation.isCancelled { await start(environment, hosts: report.stopped, events: events) }
        }
        if let folder = report.evidenceFolder { events(OperationEvent(.info, "evidence kept in \(folder) (manifest.json, SHA256SUMS)", environment: environment)) }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        return ResetReport(environment: environment, hosts: report.hosts, steps: steps, evidence: report.evidenceFolder, manifest: report.manifest,
                           restored: report.restored, warnings: report.warnings, health: health, succeeded: steps.allSatisfy(\.completed) && healthy, interrupted: cancellation.isCancelled)
    }

    /// Starts those of `hosts` that are off, as far as it can: what an interrupted reset left stopped.
    /// None starts when the environment's tables cannot be put in place.
    private func start(_ environment: String, hosts: [String], events: @escaping Events) async {
        guard !hosts.isEmpty else { return }
        do {
            try ensureIsolation(environment, reload: true, events: events, then: nil)
        } catch {
            events(OperationEvent(.error, "error: \(error); \(hosts.joined(separator: ", ")) left stopped: once nft list tables shows them, "
                + "start them with decoynet reset \(environment) \(hosts.joined(separator: " "))", environment: environment))
            return
        }
        guard let domains = try? await hypervisor.domains() else { return }
        let wanted = Set(hosts)
        for (domain, metadata) in ActualState.owned(domains)
        where metadata.environment == environment && wanted.contains(metadata.host) && domain.state == .shutoff {
            try? await hypervisor.startDomain(name: domain.name)
        }
    }

    /// Checks, on this machine's QEMU, that the guard and the environment's tables are loaded (and
    /// with `reload`, loads them again whatever is listed), and loads again the missing ones (said
    /// as a warning); throws, with `then` as the hint, when they cannot be.
    func ensureIsolation(_ environment: String, reload: Bool = false, events: @escaping Events, then: String?) throws {
        guard Naming.isLocalQEMU(hypervisor.uri) else { return }
        do throws(HostIsolation.Failure) {
            report(try isolation.ensure(environment: environment, reload: reload), environment: environment, events: events)
        } catch {
            throw OperationFailure(["guests of \(environment) cannot start behind their firewall tables: \(error)"], hint: then)
        }
    }

    private func report(_ outcome: HostIsolation.Outcome, environment: String, events: Events) {
        if case let .loadedAgain(missing) = outcome {
            events(OperationEvent(.error, "warning: the firewall tables \(missing.joined(separator: ", ")) were missing (the host's ruleset flushed?); "
                + "loaded again, with every recorded environment's, before any guest of \(environment) starts", environment: environment))
        }
    }

    /// The boot scheduler's check before each start (on a thread of its own: nft is a child
    /// process): nil, or why the host may not start.
    func isolationCheck(events: @escaping Events) -> (@Sendable (String) async -> String?)? {
        guard Naming.isLocalQEMU(hypervisor.uri) else { return nil }
        return { [self] environment in
            switch await isolation.ensureDetached(environment: environment) {
            case let .success(outcome):
                report(outcome, environment: environment, events: events)
                return nil
            case let .failure(failure):
                return "its firewall tables are not in place: \(failure)"
            }
        }
    }

    // MARK: - Reading

    /// Every host's probes; `wait` retries until healthy or each host's timeout.
    public func health(_ names: [String], wait: Bool, timeout: Double? = nil, cancellation: Cancellation = Cancellation()) async throws -> [HostHealth] {
        try await HealthChecker(hypervisor: hypervisor, prober: prober).check(environments: names, wait: wait, timeout: timeout, cancellation: cancellation)
    }

    public struct StatusReport: Sendable, Codable {
        public var status: EnvironmentStatus
        public var health: [HostHealth]
    }

    /// Networks, domains and one try of every probe, per environment.
    public func status(_ names: [String]) async throws -> [StatusReport] {
        let checker = HealthChecker(hypervisor: hypervisor, prober: prober)
        var reports: [StatusReport] = []
        for name in names {
            let status = try await StatusReader.status(environment: name, hypervisor: hypervisor)
            reports.append(StatusReport(status: status, health: try await checker.check(environment: name, wait: false)))
        }
        return reports
    }

    /// The environments DecoyNet owns on the connection.
    public func list() async throws -> [EnvironmentSummary] {
        try await StatusReader.list(hypervisor: hypervisor)
    }

    /// The names of an environment's copies (`apply --instances`) on the connection.
    public func copies(of environment: String) async throws -> [String] {
        try await list().filter { $0.instanceOf == environment }.map(\.environment)
    }

    /// Why `environment` is not on the connection, when it has copies instead: the sentence to add to
    /// "no environment NAME", naming them and how to reach them; nil when it has none.
    public func copiesHint(_ environment: String) async -> String? {
        guard let copies = try? await copies(of: environment), !copies.isEmpty else { return nil }
        let shown = copies.prefix(5).joined(separator: ", ") + (copies.count > 5 ? ", ..." : "")
        return "\(environment) has \(copies.count) \(copies.count == 1 ? "copy" : "copies") (\(shown)): name one, or add --instances all (or --instances N for ENV-i1 ... ENV-iN)"
    }

    /// Every host's probes, then the topology's checks from inside its hosts, then the detector
    /// self-test of its stealthy hosts (of every host with `tells`).
    public func test(_ environment: String, wait: Bool, timeout: Double? = nil, tells: Bool = false) async throws -> [OperationResult] {
        try await OperationTester(hypervisor: hypervisor, prober: prober).run(environment: environment, wait: wait, timeout: timeout, tells: tells)
    }

    /// About how many bytes a reset of `hosts` (every host when empty) keeping evidence would keep.
    public func evidenceEstimate(_ environment: String, hosts: [String], memory: Bool) async throws -> UInt64 {
        try await Resetter.evidenceEstimate(environment: environment, hosts: hosts, memory: memory, hypervisor: hypervisor, capture: capture)
    }

    /// About how many bytes snapshots of `hosts` would keep (for a quota's check).
    public func snapshotEstimate(_ environment: String, hosts: [String]) async throws -> UInt64 {
        try await Snapshotter.estimate(environment: environment, hosts: hosts, hypervisor: hypervisor)
    }

    /// Memory and disk of running hosts at one moment, under the environment's lock (a reset cannot
    /// stop a host being snapshotted).
    public func snapshot(_ environment: String, hosts: [String], directory: String, method: Snapshotter.Method = .pause, converter: String? = nil,
                         cancellation: Cancellation = Cancellation(), events: @escaping Events = { _ in }) async throws -> [Snapshotter.Taken] {
        let locks = try await lock([environment])
        defer { withExtendedLifetime(locks) {} }
        return try await Snapshotter.snapshot(environment: environment, hosts: hosts, directory: directory, hypervisor: hypervisor,
                                              method: method, converter: converter, cancellation: cancellation) { line in
            events(OperationEvent(.info, line, environment: environment))
        }
    }

    /// A command in a running host, through its guest agent.
    public func exec(_ environment: String, host: String, arguments: [String], timeout: Double) async throws -> ExecResult {
        try await GuestExec(hypervisor: hypervisor).run(domain: Naming.object(environment: environment, name: host), arguments: arguments, timeout: timeout)
    }

    // MARK: -

    /// One lock per environment, always taken in the same order, so that two operations cannot deadlock.
    private func lock(_ names: [String]) async throws -> [EnvironmentLock] {
        var locks: [EnvironmentLock] = []
        for name in names.sorted() {
            locks.append(try await EnvironmentLock.acquire(environment: name, uri: hypervisor.uri) { waiting(name) })
        }
        return locks
    }
}
