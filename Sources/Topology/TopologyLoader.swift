import Diagnostics
import Foundation

/// The entry point of the language: a file in, a `Topology` and every diagnostic out.
public enum TopologyLoader {
    public struct Result: Sendable {
        /// Present whenever the file was YAML; only use it for compiling when `diagnostics` has no error.
        public var topology: Topology?
        public var templates: TemplateLibrary
        public var diagnostics: [Diagnostic]
    }

    /// Loads, decodes and validates `path`. `projectTemplates` is the project's own `templates/`,
    /// last on the search path.
    public static func load(path: String, projectTemplates: String?, instance: InstanceSelector? = nil) -> Result {
        let parsed = YAMLLoader.load(file: path)
        guard let root = parsed.root else {
            return Result(topology: nil, templates: TemplateLibrary(), diagnostics: parsed.diagnostics.normalized())
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        let directory = absolute.deletingLastPathComponent().path
        let reader = NodeReader()
        var topology = TopologyDecoder.decode(root, file: path, directory: directory, reader: reader)
        var instanceDiagnostics: [Diagnostic] = []
        if let instance, !reader.diagnostics.hasErrors {
            (topology, instanceDiagnostics) = topology.instance(instance)
        }
        let implicit = [directory + "/templates"] + (projectTemplates.map { [$0] } ?? [])
        let templates = TemplateLibrary.load(explicit: topology.templatePaths, implicit: implicit, baseDirectory: directory, reader: reader)
        templates.check(reader: reader)
        TopologyValidator(topology: topology, templates: templates, reader: reader).validate()
        return Result(topology: topology, templates: templates, diagnostics: (parsed.diagnostics + reader.diagnostics + instanceDiagnostics).normalized())
    }
}
