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
    public static func load(path: String, projectTemplates: String?, instance: InstanceSelector? = nil, images: ImagePolicy = ImagePolicy()) -> Result {
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
        TopologyValidator(topology: topology, templates: templates, reader: reader, images: images).validate()
        return Result(topology: topology, templates: templates, diagnostics: (parsed.diagnostics + reader.diagnostics + instanceDiagnostics).normalized())
    }
}

/// What a topology's image files must be: present (for a deploy), and inside which folders (for a
/// topology that is not trusted, such as one uploaded to the server).
public struct ImagePolicy: Sendable {
    public var requireFiles: Bool
    /// Folders every image file must be in, after symbolic links; nil: anywhere.
    public var allowedRoots: [String]?

    public init(requireFiles: Bool = false, allowedRoots: [String]? = nil) {
        self.requireFiles = requireFiles
        self.allowedRoots = allowedRoots
    }

    /// Whether `path`, with every symbolic link and `..` resolved, is inside one of `roots`.
    public static func isInside(_ path: String, roots: [String]) -> Bool {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        return roots.contains { root in
            let base = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL.path
            return real.hasPrefix(base.hasSuffix("/") ? base : base + "/")
        }
    }
}
