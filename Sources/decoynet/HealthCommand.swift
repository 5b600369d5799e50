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
        let hypervisor = try openHypervisor(connection)
        let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
        let hosts = try await checker.check(environments: copies.environments(environment, hypervisor: hypervisor), wait: !noWait, timeout: timeout)
        if hosts.isEmpty {
            Terminal.error("error: no environment \(environment) on \(hypervisor.uri)")
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

    struct Report: Encodable {
        var status: EnvironmentStatus
        var health: [HostHealth]
    }

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        let names: [String]
        if let environment {
            names = try await copies.environments(environment, hypervisor: hypervisor)
        } else {
            names = try await StatusReader.list(hypervisor: hypervisor).map(\.environment)
        }
        let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
        var reports: [Report] = []
        for name in names {
            let status = try await StatusReader.status(environment: name, hypervisor: hypervisor)
            let health = try await checker.check(environment: name, wait: false)
            reports.append(Report(status: status, health: health))
        }
        if let environment, !copies.all, reports.first.map({ $0.status.domains.isEmpty && $0.status.networks.isEmpty && $0.status.pool == nil }) ?? true {
            Terminal.error("error: no environment \(environment) on \(hypervisor.uri)")
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

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the environments on the connection."
    )

    @Flag(help: "Print the list as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        let environments = try await StatusReader.list(hypervisor: hypervisor)
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
