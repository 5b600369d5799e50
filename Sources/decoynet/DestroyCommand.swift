import ArgumentParser
import Engine
import Foundation

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
        let operations = try openOperations(connection)
        let names = try await copies.environments(environment, operations: operations)
        let printer = EventPrinter(phase: "destroy", quiet: json)
        let (report, interrupted) = try await interruptible { cancellation in
            try await operations.destroy(names, cancellation: cancellation, events: printer.handle)
        }
        printer.finish()
        let failures = report.steps.filter { !$0.completed }
        if json {
            print(DiagnosticOutput.json(report.steps))
        } else if report.steps.isEmpty {
            Terminal.error("nothing to destroy: no environment \(environment) on \(operations.hypervisor.uri)")
            if !copies.all, let hint = await operations.copiesHint(environment) { Terminal.error(hint) }
        } else if failures.isEmpty {
            Terminal.error("destroyed \(names.joined(separator: ", ")): \(report.objects) objects removed in \(printer.elapsed)")
        } else {
            Terminal.error("destroy failed: \(failures.count) of \(report.steps.count) steps did not complete:")
            PlanOutput.printFailures(failures)
        }
        if interrupted { throw ExitCode(130) }
        if !report.succeeded { throw ExitCode.failure }
    }
}
