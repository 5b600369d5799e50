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
    @Flag(help: "Boot every host instead of restoring it from its image's warm template.") var cold = false
    @Option(help: ArgumentHelp("Hosts booting at once (default: the machine's cores); a host boots until it is healthy.", valueName: "n"))
    var bootSlots: Int?
    @Option(help: ArgumentHelp("Memory the hosts may take, as a multiple of what this machine has available (guests rarely touch all of theirs; KSM merges identical pages).",
                               valueName: "ratio"))
    var overcommit: Double = 1.5
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let environments = try copies.selectors.map { try loadEnvironment(file, topology: topology, forDeploy: true, connection: connection, instance: $0) }
        let operations = try openOperations(connection)
        let uri = operations.hypervisor.uri
        var options = Operations.ApplyOptions(acceleration: acceleration(accel, uri: uri), wait: !noWait, timeout: timeout,
                                              bootSlots: bootSlots ?? ProcessInfo.processInfo.activeProcessorCount, overcommit: overcommit)
        options.warmTemplates = !cold
        let prepared = try await failing { try await operations.prepareApply(environments, options: options) }
        if !json { for (plan, _) in prepared.planned { Terminal.error(PlanOutput.text(plan, uri: uri)) } }
        let printer = EventPrinter(phase: "apply", total: prepared.steps.count, hosts: prepared.hosts, quiet: json)
        let (report, interrupted) = try await interruptible { cancellation in
            try await operations.apply(prepared, options: options, cancellation: cancellation, events: printer.handle)
        }
        printer.finish()
        if json {
            print(DiagnosticOutput.json(report))
        } else {
            let failures = report.steps.filter { !$0.completed }
            let names = environments.map(\.name).joined(separator: ", ")
            if failures.isEmpty {
                Terminal.error("applied \(prepared.changes) changes to \(names) in \(printer.elapsed)")
            } else {
                Terminal.error("apply failed: \(failures.count) of \(report.steps.count) steps did not complete:")
                PlanOutput.printFailures(failures)
            }
            if !report.restarted.isEmpty { Terminal.error("\(report.restarted.count) hosts needed a restart: \(report.restarted.joined(separator: ", "))") }
            if let health = report.health { print(PlanOutput.healthTable(health, showEnvironment: environments.count > 1)) }
        }
        if interrupted { throw ExitCode(130) }
        if !report.succeeded { throw ExitCode.failure }
    }

    func validate() throws {
        if let bootSlots, !(1 ... 256).contains(bootSlots) { throw ValidationError("--boot-slots must be 1 to 256.") }
        if bootSlots != nil, noWait {
            throw ValidationError("--boot-slots paces the boots apply waits for; with --no-wait every domain starts at once: give one of them, not both.")
        }
        guard overcommit > 0, overcommit <= 100 else { throw ValidationError("--overcommit must be a ratio above 0, such as 1.5.") }
    }
}
