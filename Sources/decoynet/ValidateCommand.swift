import ArgumentParser
import Compiler
import Diagnostics

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check topology files and report every problem as file:line:column."
    )

    @Argument(help: ArgumentHelp("Topology files.", valueName: "file"))
    var files: [String]

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var topology: TopologyOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one topology file.") }
    }

    struct FileReport: Encodable {
        var file: String
        var valid: Bool
        var environment: String?
        var networks: Int?
        var hosts: Int?
        var diagnostics: [DiagnosticOutput.JSONDiagnostic]
    }

    struct Report: Encodable {
        var valid: Bool
        var errors: Int
        var warnings: Int
        var files: [FileReport]
    }

    func run() throws {
        let templates = topology.templatesDirectory
        var all: [Diagnostic] = []
        var reports: [FileReport] = []
        for file in files {
            let result = Compiler.lower(path: file, projectTemplates: templates, images: topology.imagePolicy())
            all += result.diagnostics
            let environment = result.environment
            reports.append(FileReport(file: file, valid: !result.diagnostics.hasErrors, environment: environment?.name,
                                      networks: environment?.networks.count, hosts: environment?.hosts.count,
                                      diagnostics: result.diagnostics.map(DiagnosticOutput.JSONDiagnostic.init)))
            if !json {
                DiagnosticOutput.printToStandardError(result.diagnostics)
                if let environment, !result.diagnostics.hasErrors {
                    print("\(file): valid: environment \(environment.name), \(environment.networks.count) networks, \(environment.hosts.count) hosts (\(DiagnosticOutput.summary(result.diagnostics)))")
                } else {
                    print("\(file): invalid (\(DiagnosticOutput.summary(result.diagnostics)))")
                }
            }
        }
        if json {
            print(DiagnosticOutput.json(Report(valid: !all.hasErrors, errors: all.errorCount, warnings: all.warningCount, files: reports)))
        }
        if all.hasErrors { throw ExitCode.failure }
    }
}
