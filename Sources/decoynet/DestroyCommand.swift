import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove every domain, overlay, network, bridge, packet capture and pool of an environment, and nothing else."
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Flag(help: "Print the steps as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        let names = try await copies.environments(environment, hypervisor: hypervisor)
        let locks = try lockEnvironments(names, uri: hypervisor.uri)
        defer { withExtendedLifetime(locks) {} }
        let capture = localCapture(hypervisor)
        var plans: [Plan] = []
        for name in names { plans.append(try await Deployer.destroyPlan(environment: name, hypervisor: hypervisor)) }
        let objects = plans.reduce(0) { $0 + $1.actions.count }
        // Built once: empty when nothing is left (captures included), counted, then walked.
        let vertices = Deployer.destroySteps(plans, hypervisor: hypervisor, capture: capture)
        if vertices.isEmpty {
            if json { print(DiagnosticOutput.json(PlanOutput.json([]))) } else { Terminal.error("nothing to destroy: no environment \(environment) on \(hypervisor.uri)") }
            return
        }
        let cancellation = Cancellation()
        let interruption = Interruption { cancellation.cancel() }
        let progress = Progress(phase: "destroy", total: vertices.count, quiet: json)
        let outcomes = await GraphWalker.walk(vertices, parallelism: connection.parallel, cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        if json {
            print(DiagnosticOutput.json(PlanOutput.json(outcomes)))
        } else if failures.isEmpty {
            Terminal.error("destroyed \(names.joined(separator: ", ")): \(objects) objects removed in \(progress.elapsed)")
        } else {
            Terminal.error("destroy failed: \(failures.count) of \(outcomes.count) steps did not complete:")
            PlanOutput.printFailures(failures)
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}
