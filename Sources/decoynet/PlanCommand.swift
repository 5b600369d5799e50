import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would create, replace, update, start or delete, without changing anything."
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file")) var file: String
    @Flag(help: "Print the plan as JSON.") var json = false
    @Flag(help: "List unchanged objects too.") var all = false
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let environments = try copies.selectors.map { try loadEnvironment(file, topology: topology, forDeploy: false, instance: $0) }
        let hypervisor = try openHypervisor(connection)
        try await checkAddresses(environments, hypervisor: hypervisor)
        var plans: [Plan] = []
        for environment in environments { plans.append(try await makePlan(environment, hypervisor: hypervisor, accel: accel).1) }
        if json {
            let output = plans.map { PlanOutput.json($0, uri: hypervisor.uri) }
            print(output.count == 1 ? DiagnosticOutput.json(output[0]) : DiagnosticOutput.json(output))
        } else {
            print(plans.map { PlanOutput.text($0, uri: hypervisor.uri, showKept: all) }.joined(separator: "\n\n"))
        }
    }
}
