import ArgumentParser
import Compiler
import Diagnostics
import Foundation
import Topology

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a topology's networks, hosts and gateways as Graphviz DOT or Mermaid."
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file"))
    var file: String

    @Option(help: "dot or mermaid.")
    var format: GraphRenderer.Format = .dot

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var topology: TopologyOptions

    func run() throws {
        let result = Compiler.lower(path: file, projectTemplates: topology.templatesDirectory, images: topology.imagePolicy())
        DiagnosticOutput.printToStandardError(result.diagnostics)
        guard let environment = result.environment, !result.diagnostics.hasErrors else { throw ExitCode.failure }
        let graph = GraphRenderer.render(environment, format: format)
        if let output {
            do {
                try Data(graph.utf8).write(to: URL(fileURLWithPath: output))
            } catch {
                throw ValidationError("cannot write to '\(output)': \(error.localizedDescription)")
            }
        } else {
            print(graph, terminator: "")
        }
    }
}
