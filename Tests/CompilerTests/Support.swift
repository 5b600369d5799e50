import Compiler
import Diagnostics
import Foundation
import Testing

/// The checkout this test was built from, found from this file's own path.
let projectRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let projectTemplates = projectRoot + "/templates"

/// A scratch folder with a topology written into it.
struct Workspace {
    let directory: String

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-compiler-" + UUID().uuidString).path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ relativePath: String, _ contents: String) -> String {
        let path = directory + "/" + relativePath
        try! FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try! Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Lowers a topology written inline; fails the test on any error.
func lower(_ source: String, files: [String: String] = [:], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ResolvedEnvironment? {
    let workspace = Workspace()
    defer { workspace.remove() }
    for (path, contents) in files { workspace.write(path, contents) }
    let path = workspace.write("topology.yaml", source)
    let result = Compiler.lower(path: path, projectTemplates: projectTemplates)
    let errors = result.diagnostics.filter { $0.severity == .error }
    #expect(errors.isEmpty, "\(errors.map(\.rendered).joined(separator: "\n"))", sourceLocation: sourceLocation)
    return result.environment
}

/// The diagnostics of lowering a topology written inline.
func diagnostics(_ source: String, files: [String: String] = [:]) -> [Diagnostic] {
    let workspace = Workspace()
    defer { workspace.remove() }
    for (path, contents) in files { workspace.write(path, contents) }
    let path = workspace.write("topology.yaml", source)
    return Compiler.lower(path: path, projectTemplates: projectTemplates).diagnostics.map { diagnostic in
        var diagnostic = diagnostic
        diagnostic.location.file = diagnostic.location.file.replacingOccurrences(of: workspace.directory + "/", with: "")
        return diagnostic
    }
}
