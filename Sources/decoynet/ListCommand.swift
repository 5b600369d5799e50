import ArgumentParser
import Engine
import Foundation
import Hypervisor

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the environments on the connection."
    )

    @Flag(help: "Print the list as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let operations = try openOperations(connection)
        let hypervisor = operations.hypervisor
        let environments = try await failing { try await operations.list() }
        if json {
            print(DiagnosticOutput.json(environments))
        } else if environments.isEmpty {
            Terminal.error("no environments on \(hypervisor.uri)")
        } else {
            print(Terminal.table(["ENVIRONMENT", "COPY OF", "HOSTS", "RUNNING", "NETWORKS"], environments.map {
                [$0.environment, $0.instanceOf ?? "-", String($0.domains), String($0.running), String($0.networks)]
            }))
        }
    }
}
