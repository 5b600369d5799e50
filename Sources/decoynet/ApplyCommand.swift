import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update an environment in parallel, then wait until every host is healthy.",
        discussion: "A second apply of the same file changes nothing. Run commands that reach guests inside the lab's network namespace: ip netns exec decoynet-lab decoynet apply FILE"
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file")) var file: String
    @Flag(help: "Do not wait for health checks.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait for health, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Flag(help: "Print the plan, the steps and health as JSON.") var json = false
    @Option(help: ArgumentHelp("Hosts booting at once (default: the machine's cores); a host boots until it is healthy.", valueName: "n"))
    var bootSlots: Int?
    @Option(help: ArgumentHelp("Memory the hosts may take, as a multiple of what this machine has available (guests rarely touch all of theirs; KSM merges identical pages).",
                               valueName: "ratio"))
    var overcommit: Double = 1.5
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    struct Report: Encodable {
        var plans: [PlanOutput.JSONPlan]
        var steps: [PlanOutput.JSONOutcome]
        var health: [HostHealth]?
        var restarted: [String]
        var succeeded: Bool
        var interrupted: Bool
    }

    func run() async throws {
        let environments = try copies.selectors.map { try loadEnvironment(file, topology: topology, forDeploy: true, connection: connection, instance: $0) }
        let hypervisor = try openHypervisor(connection)
        let locks = try lockEnvironments(environments.map(\.name), uri: hypervisor.uri)
        defer { withExtendedLifetime(locks) {} }
        try await checkAddresses(environments, hypervisor: hypervisor)
        var planned: [(plan: Plan, desired: DesiredState)] = []
        for environment in environments {
            let (desired, plan) = try await makePlan(environment, hypervisor: hypervisor, accel: accel)
            planned.append((plan, desired))
        }
        if !json { for (plan, _) in planned { Terminal.error(PlanOutput.text(plan, uri: hypervisor.uri)) } }
        try checkResources(planned, uri: hypervisor.uri)

        let cancellation = Cancellation()
        let interruption = Interruption {
            cancellation.cancel()
            Terminal.error("\ninterrupted: no new steps start; running ones finish. Run apply or destroy again to converge.")
        }
        let capture = localCapture(hypervisor)
        let steps = planned.reduce(0) { $0 + $1.plan.actions.filter { $0.kind != .keep }.count }
        // Built once: counted for the progress line, then walked.
        // Unless told not to wait, domains are defined here and started by the boot scheduler.
        let vertices = Deployer.steps(planned, hypervisor: hypervisor, capture: capture, startDomains: noWait)
        let progress = Progress(phase: "apply", total: vertices.count, quiet: json)
        let outcomes = await GraphWalker.walk(vertices, parallelism: connection.parallel, cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        let names = environments.map(\.name).joined(separator: ", ")
        if failures.isEmpty, !json { Terminal.error("applied \(steps) changes to \(names) in \(progress.elapsed)") }
        var health: [HostHealth]?
        var restarted: [String] = []
        if failures.isEmpty, !noWait, !cancellation.isCancelled {
            let total = environments.reduce(0) { $0 + $1.hosts.count }
            let slots = bootSlots ?? ProcessInfo.processInfo.activeProcessorCount
            if !json { Terminal.error("booting and waiting for health (\(total) hosts, \(slots) at once)...") }
            var checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
            // A boot slot is free again as soon as its host is seen healthy.
            checker.interval = 0.5
            let scheduler = BootScheduler(hypervisor: hypervisor, checker: checker, slots: slots, timeout: timeout)
            let bootProgress = BootProgress(total: total, quiet: json)
            health = try await scheduler.boot(environments: environments.map(\.name), cancellation: cancellation, onEvent: bootProgress.handle)
            bootProgress.finish()
            restarted = (health ?? []).filter { ($0.attempts ?? 1) > 1 }.map(\.domain)
            if !json, !restarted.isEmpty { Terminal.error("\(restarted.count) hosts needed a restart: \(restarted.joined(separator: ", "))") }
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        if json {
            print(DiagnosticOutput.json(Report(plans: planned.map { PlanOutput.json($0.plan, uri: hypervisor.uri) }, steps: PlanOutput.json(outcomes),
                                               health: health, restarted: restarted, succeeded: failures.isEmpty && healthy, interrupted: cancellation.isCancelled)))
        } else {
            if !failures.isEmpty {
                Terminal.error("apply failed: \(failures.count) of \(outcomes.count) steps did not complete:")
                PlanOutput.printFailures(failures)
            }
            if let health { print(PlanOutput.healthTable(health, showEnvironment: environments.count > 1)) }
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty || !healthy { throw ExitCode.failure }
    }

    /// On this machine (a local QEMU connection), refuses a plan whose hosts would not fit.
    private func checkResources(_ planned: [(plan: Plan, desired: DesiredState)], uri: String) throws {
        guard uri.hasPrefix("qemu:///"), let available = ResourceCheck.available(poolRoot: poolRoot()) else { return }
        let needs = ResourceCheck.needs(planned)
        let problems = ResourceCheck.problems(needs, available: available, overcommit: overcommit)
        guard !problems.isEmpty else { return }
        for problem in problems { Terminal.error("error: \(problem)") }
        Terminal.error("nothing was changed")
        throw ExitCode.failure
    }

    func validate() throws {
        if let bootSlots, !(1 ... 256).contains(bootSlots) { throw ValidationError("--boot-slots must be 1 to 256.") }
        guard overcommit > 0, overcommit <= 100 else { throw ValidationError("--overcommit must be a ratio above 0, such as 1.5.") }
    }
}
