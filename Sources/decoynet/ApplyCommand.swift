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
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    struct Report: Encodable {
        var plans: [PlanOutput.JSONPlan]
        var steps: [PlanOutput.JSONOutcome]
        var health: [HostHealth]?
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

        let cancellation = Cancellation()
        let interruption = Interruption {
            cancellation.cancel()
            Terminal.error("\ninterrupted: no new steps start; running ones finish. Run apply or destroy again to converge.")
        }
        let capture = localCapture(hypervisor)
        let steps = planned.reduce(0) { $0 + $1.plan.actions.filter { $0.kind != .keep }.count }
        // Built once: counted for the progress line, then walked.
        let vertices = Deployer.steps(planned, hypervisor: hypervisor, capture: capture)
        let progress = Progress(phase: "apply", total: vertices.count, quiet: json)
        let outcomes = await GraphWalker.walk(vertices, parallelism: connection.parallel, cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        let names = environments.map(\.name).joined(separator: ", ")
        if failures.isEmpty, !json { Terminal.error("applied \(steps) changes to \(names) in \(progress.elapsed)") }
        var health: [HostHealth]?
        if failures.isEmpty, !noWait, !cancellation.isCancelled {
            let total = environments.reduce(0) { $0 + $1.hosts.count }
            if !json { Terminal.error("waiting for health (\(total) hosts)...") }
            let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
            health = try await checker.check(environments: environments.map(\.name), wait: true, timeout: timeout, cancellation: cancellation)
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        if json {
            print(DiagnosticOutput.json(Report(plans: planned.map { PlanOutput.json($0.plan, uri: hypervisor.uri) }, steps: PlanOutput.json(outcomes),
                                               health: health, succeeded: failures.isEmpty && healthy, interrupted: cancellation.isCancelled)))
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
}
