import ArgumentParser
import Compiler
import Foundation

/// Options every verb that reads a topology shares.
struct TopologyOptions: ParsableArguments {
    @Option(name: .customLong("templates"), help: ArgumentHelp("The project's template folder, last on the search path.", valueName: "dir"))
    var projectTemplates: String?

    /// `--templates`, else `DECOYNET_TEMPLATES`, else the `templates/` of the checkout this binary
    /// was built in, else the installed share folder.
    var templatesDirectory: String? {
        if let projectTemplates { return projectTemplates }
        if let fromEnvironment = ProcessInfo.processInfo.environment["DECOYNET_TEMPLATES"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0 ..< 6 {
            let candidate = folder.appendingPathComponent("templates")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: candidate.path) {
                return candidate.path
            }
            folder = folder.deletingLastPathComponent()
        }
        for shared in ["/usr/local/share/decoynet/templates", "/usr/share/decoynet/templates"]
            where FileManager.default.fileExists(atPath: shared) {
            return shared
        }
        return nil
    }
}

extension Acceleration: ExpressibleByArgument {}
extension GraphRenderer.Format: ExpressibleByArgument {}
