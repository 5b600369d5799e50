import Diagnostics
import Foundation

/// The templates a topology can name, gathered from its search path in order.
///
/// The search path is the topology's own `templates` entries, then `templates/` beside the file,
/// then the project's `templates/`; the first place that defines a name wins, so a topology can
/// shadow a project template. Each place is a YAML file or a folder of them.
public struct TemplateLibrary: Sendable {
    public private(set) var templates: [String: TemplateSpec] = [:]

    public init() {}

    public subscript(name: String) -> TemplateSpec? { templates[name] }

    /// Loads every template file of the search path; `explicit` places that are missing are errors.
    static func load(explicit: [Located<String>], implicit: [String], baseDirectory: String, reader: NodeReader,
                     allowedRoots: [String]? = nil) -> TemplateLibrary {
        var library = TemplateLibrary()
        var visited = Set<String>()
        var places: [(path: String, written: Located<String>?)] = explicit.map { (TopologyResolver.resolvePath($0.value, from: baseDirectory), $0) }
        places += implicit.map { ($0, nil) }
        for place in places {
            let canonical = URL(fileURLWithPath: place.path).standardizedFileURL.resolvingSymlinksInPath().path
            guard visited.insert(canonical).inserted else { continue }
            if let roots = allowedRoots, !ImagePolicy.isInside(canonical, roots: roots, orEqual: true) {
                if let written = place.written {
                    reader.report(TopologyMessages.templatePathOutside(written.value), at: written.location)
                }
                continue
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: canonical, isDirectory: &isFolder) else {
                if let written = place.written {
                    reader.report(TopologyMessages.templatePathMissing(written.value), at: written.location)
                }
                continue
            }
            let files: [String]
            if isFolder.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: place.path)) ?? []
                files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { displayPath(place.path + "/" + $0) }
            } else {
                files = [displayPath(place.path)]
            }
            var definedHere: [String: SourceLocation] = [:]
            for file in files {
                for template in loadFile(file, reader: reader) {
                    let name = template.name.value
                    if let first = definedHere[name] {
                        reader.report(TopologyMessages.duplicateTemplate(name, first: first), at: template.name.location)
                        continue
                    }
                    definedHere[name] = template.name.location
                    if library.templates[name] == nil { library.templates[name] = template }
                }
            }
        }
        return library
    }

    private static func loadFile(_ path: String, reader: NodeReader) -> [TemplateSpec] {
        let loaded = YAMLLoader.load(file: path)
        for diagnostic in loaded.diagnostics { reader.report(Message(id: diagnostic.id, severity: diagnostic.severity, diagnostic.message), at: diagnostic.location) }
        guard let root = loaded.root, let entries = reader.namedEntries(root, what: "a template file", kind: "template") else { return [] }
        let decoder = HostFieldsDecoder(reader: reader, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        return entries.map { entry in
            TemplateSpec(name: entry.name, fields: decoder.decode(entry.value, context: .template(name: entry.name.value), owner: entry.name.location))
        }
    }

    /// The template and everything it extends, nearest first; `nil` when the chain is broken,
    /// which `check` reports.
    public func chain(_ name: String) -> [TemplateSpec]? {
        var chain: [TemplateSpec] = []
        var seen = Set<String>()
        var next: String? = name
        while let current = next {
            guard seen.insert(current).inserted, let template = templates[current] else { return nil }
            chain.append(template)
            next = template.fields.extends?.value
        }
        return chain
    }

    /// Reports unknown `extends` targets and cycles, each once.
    func check(reader: NodeReader) {
        var reportedCycles = Set<[String]>()
        for name in templates.keys.sorted() {
            guard let template = templates[name], let parent = template.fields.extends else { continue }
            if templates[parent.value] == nil {
                reader.report(TopologyMessages.unknownTemplate(parent.value, hint: Suggestion.hint(for: parent.value, among: templates.keys)), at: parent.location)
                continue
            }
            var path = [name]
            var next = parent.value
            while let current = templates[next] {
                if let start = path.firstIndex(of: next) {
                    let cycle = Array(path[start...])
                    let key = cycle.sorted()
                    if start == 0, reportedCycles.insert(key).inserted {
                        reader.report(TopologyMessages.templateCycle(cycle + [next]), at: parent.location)
                    }
                    break
                }
                path.append(next)
                guard let further = current.fields.extends?.value else { break }
                next = further
            }
        }
    }

    /// Relative to the working folder when the file lies below it, as compilers print paths.
    static func displayPath(_ path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let current = FileManager.default.currentDirectoryPath
        let prefix = current.hasSuffix("/") ? current : current + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }
}
