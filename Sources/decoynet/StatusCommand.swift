import ArgumentParser
import Engine
import Foundation
import Hypervisor

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every host (state, addresses, health) and every network of an environment, or of all."
    )

    @Argument(help: ArgumentHelp("The environment name; all environments when omitted.", valueName: "environment")) var environment: String?
    @Flag(help: "Print the status as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { if let environment { try checkEnvironmentName(environment) } }

    func run() async throws {
        let operations = try openOperations(connection)
        let hypervisor = operations.hypervisor
        let names: [String]
        if let environment {
            names = try await copies.environments(environment, operations: operations)
        } else {
            names = try await failing { try await operations.list().map(\.environment) }
        }
        let reports = try await failing { try await operations.status(names) }
        if let environment, !copies.all, reports.first.map({ $0.status.domains.isEmpty && $0.status.networks.isEmpty && $0.status.pool == nil }) ?? true {
            Terminal.error("error: no environment \(environment) on \(hypervisor.uri)")
            if let hint = await operations.copiesHint(environment) { Terminal.error(hint) }
            throw ExitCode.failure
        }
        if json {
            print(DiagnosticOutput.json(reports))
            return
        }
        for report in reports {
            print("environment \(report.status.environment) on \(hypervisor.uri)")
            print(Terminal.table(["NETWORK", "ACTIVE", "BRIDGE", "ADDRESS", "EGRESS", "RESERVATIONS"], report.status.networks.map {
                [$0.name, $0.active ? "yes" : "no", $0.bridge, $0.address, $0.egress, String($0.dhcpReservations)]
            }))
            print("")
            print(PlanOutput.healthTable(report.health))
            print("")
        }
    }
}
