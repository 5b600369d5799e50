import ArgumentParser
import Engine
import Foundation
import Hypervisor

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Run every host's health probes in parallel, waiting up to each host's timeout.",
        discussion: "Probes that reach guests (tcp, http) must run where the guests' networks are: ip netns exec decoynet-lab decoynet health ENV"
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Flag(help: "Try each probe once instead of waiting.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() async throws {
        let operations = try openOperations(connection)
        let names = try await copies.environments(environment, operations: operations)
        let hosts = try await failing { try await operations.health(names, wait: !noWait, timeout: timeout) }
        if hosts.isEmpty {
            Terminal.error("error: no environment \(environment) on \(operations.hypervisor.uri)")
            if !copies.all, let hint = await operations.copiesHint(environment) { Terminal.error(hint) }
            throw ExitCode.failure
        }
        if json {
            print(DiagnosticOutput.json(hosts))
        } else {
            print(PlanOutput.healthTable(hosts, showEnvironment: copies.all))
        }
        if !hosts.allSatisfy(\.healthy) { throw ExitCode.failure }
    }
}
