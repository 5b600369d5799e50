import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Topology

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile a topology into libvirt XML: DIR/networks, DIR/domains and DIR/volumes."
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file"))
    var file: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The folder to write the documents to.", valueName: "dir"))
    var output: String

    @Option(help: "The domain type: kvm, or qemu (TCG) for hosts where KVM cannot boot guests.")
    var accel: Acceleration = .qemu

    @Flag(help: "Print a summary as JSON.")
    var json = false

    @OptionGroup var topology: TopologyOptions

    struct Summary: Encodable {
        var environment: String
        var output: String
        var networks: [String]
        var domains: [String]
        var volumes: [String]
        var diagnostics: [DiagnosticOutput.JSONDiagnostic]
    }

    func run() throws {
        let result = Compiler.lower(path: file, projectTemplates: topology.templatesDirectory, images: topology.imagePolicy())
        DiagnosticOutput.printToStandardError(result.diagnostics)
        guard let environment = result.environment, !result.diagnostics.hasErrors else {
            if !json { print("\(file): not compiled (\(DiagnosticOutput.summary(result.diagnostics)))") }
            throw ExitCode.failure
        }
        let compiled = DocumentRenderer.render(environment, acceleration: accel, poolRoot: Operations.poolRootFromEnvironment)
        do {
            try compiled.write(to: output)
        } catch {
            throw ValidationError("cannot write to '\(output)': \(error.localizedDescription)")
        }
        if json {
            print(DiagnosticOutput.json(Summary(environment: environment.name, output: output,
                                                 networks: compiled.networks.map(\.name), domains: compiled.domains.map(\.name),
                                                 volumes: compiled.volumes.map(\.name),
                                                 diagnostics: result.diagnostics.map(DiagnosticOutput.JSONDiagnostic.init))))
        } else {
            print("\(file): wrote \(compiled.networks.count) networks, \(compiled.domains.count) domains and \(compiled.volumes.count) volumes to \(output)")
        }
    }
}
