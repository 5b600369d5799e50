import ArgumentParser
import Engine
import Foundation

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
        let operations = try openOperations(connection)
        let uri = operations.hypervisor.uri
        let plans = try await failing { try await operations.plan(environments, acceleration: acceleration(accel, uri: uri)) }
        if json {
            let output = plans.map { PlanReport($0, uri: uri) }
            print(output.count == 1 ? DiagnosticOutput.json(output[0]) : DiagnosticOutput.json(output))
        } else {
            print(plans.map { PlanOutput.text($0, uri: uri, showKept: all) }.joined(separator: "\n\n"))
        }
    }
}
