import ArgumentParser
import Engine
import Foundation
import Observe

extension Forensics.View: ExpressibleByArgument {}

/// `decoynet forensics FOLDER VIEW`: a host seen from outside, from a snapshot or a reset's evidence.
struct ForensicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forensics",
        abstract: "Processes, connections, kernel modules or changed files of a host, read from a snapshot or a reset's evidence.",
        discussion: """
        processes, connections and modules come from the memory image, read by Volatility 3 with the symbol \
        table made from the host's kernel (decoynet image build makes them); files lists what the frozen disk \
        holds that the host's base image does not, with SHA-256 and times, read without booting or mounting \
        anything. Nothing runs inside the guest. Files of a snapshot of an environment with a timeline also go \
        into it as file events, dated when the disk was frozen, so a run going on keeps them. The tools come \
        from scripts/forensics-env.sh.
        """
    )

    @Argument(help: ArgumentHelp("A snapshot's folder, or a host's folder of a reset's evidence (ENV-TIME/HOST).", valueName: "folder"))
    var folder: String
    @Argument(help: ArgumentHelp("What to read: processes, connections, modules or files.", valueName: "view"))
    var view: Forensics.View
    @Flag(help: "Print the rows as JSON.") var json = false

    func run() throws {
        guard let scripts = projectFolder("forensics", variable: "DECOYNET_FORENSICS") else {
            Terminal.error("error: the forensics scripts are not found (forensics/ beside the project's Package.swift, or DECOYNET_FORENSICS)")
            throw ExitCode.failure
        }
        let tools = ForensicsTools.found(scripts: scripts)
        let result: Forensics.Result
        let source: Forensics.Source
        do {
            source = try Forensics.Source.open(folder)
            let quiet = json
            result = try Forensics.analyse(view, of: source, tools: tools) { line in
                if !quiet { Terminal.error("forensics: " + line) }
            }
        } catch {
            Terminal.error("error: \(error)")
            throw ExitCode.failure
        }
        if case let .files(changes) = result, let environment = source.environment {
            let recorded = Forensics.recordInTimeline(changes, source: source, store: TimelineStore(root: TimelineStore.rootFromEnvironment, environment: environment), tools: tools)
            if recorded > 0, !json { Terminal.error("forensics: \(recorded) file events in the timeline of \(environment)") }
        }
        if json {
            print(String(decoding: try Forensics.encode(result), as: UTF8.self))
            return
        }
        let (columns, rows) = Forensics.table(result)
        print(Terminal.table(columns, rows))
    }
}
