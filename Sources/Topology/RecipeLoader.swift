import Diagnostics
import Foundation

/// Loads a folder of image recipes (`images/*.yaml`), each file one recipe named after the file,
/// with every problem located like a topology's, and resolves their `extends` chains.
public enum RecipeLoader {
    public struct Result: Sendable {
        /// Resolved recipes, by name; only those whose chain has no error.
        public var recipes: [String: ImageRecipe]
        public var diagnostics: [Diagnostic]

        public var names: [String] { recipes.keys.sorted() }
    }

    static let keys = ["description", "suite", "extends", "packages", "services", "mask", "files", "commands"]
    static let suites = ["bookworm"]

    /// One recipe as written, before its chain is resolved.
    struct Written {
        var name: Located<String>
        var file: String
        var description: String?
        var suite: Located<String>?
        var extends: Located<String>?
        var packages: [String] = []
        var services: [String] = []
        var masked: [String] = []
        var files: [RecipeFile] = []
        var commands: [String] = []
        var hasErrors = false
    }

    public static func load(directory: String) -> Result {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let files = entries.filter { $0.hasSuffix(".yaml") }.sorted().map { directory + "/" + $0 }
        return load(files: files)
    }

    public static func load(files: [String]) -> Result {
        var diagnostics: [Diagnostic] = []
        var written: [String: Written] = [:]
        for file in files {
            let (recipe, found) = read(file: file)
            diagnostics += found
            if let recipe { written[recipe.name.value] = recipe }
        }
        var recipes: [String: ImageRecipe] = [:]
        var reported = Set<String>()
        for name in written.keys.sorted() {
            let (recipe, found) = resolve(name, in: written, reported: &reported)
            diagnostics += found
            if let recipe { recipes[name] = recipe }
        }
        return Result(recipes: recipes, diagnostics: diagnostics.normalized())
    }

    static func read(file: String) -> (Written?, [Diagnostic]) {
        let base = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let fileStart = SourceLocation(file: file, line: 1, column: 1)
        let parsed = YAMLLoader.load(file: file)
        guard let root = parsed.root else { return (nil, parsed.diagnostics) }
        let reader = NodeReader()
        if !Language.isValidName(base) { reader.report(RecipeMessages.invalidRecipeName(base), at: fileStart) }
        var recipe = Written(name: Located(base, at: fileStart), file: file)
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        if let fields = reader.fields(root, what: "recipe \(base)", allowed: keys) {
            if let node = fields["description"], !node.isNull { recipe.description = reader.string(node, what: "'description'")?.value }
            if let node = fields["suite"], let suite = reader.string(node, what: "'suite'") {
                if suites.contains(suite.value) { recipe.suite = suite } else { reader.report(RecipeMessages.unknownSuite(suite.value), at: suite.location) }
            }
            if let node = fields["extends"] { recipe.extends = reader.string(node, what: "'extends'") }
            recipe.packages = names(fields["packages"], what: "'packages'", reader: reader, valid: isPackageName, message: RecipeMessages.invalidPackage)
            recipe.services = names(fields["services"], what: "'services'", reader: reader, valid: isUnitName, message: RecipeMessages.invalidUnit)
            recipe.masked = names(fields["mask"], what: "'mask'", reader: reader, valid: isUnitName, message: RecipeMessages.invalidUnit)
            if let node = fields["commands"], let items = reader.list(node, what: "'commands'") {
                recipe.commands = items.compactMap { reader.string($0, what: "command")?.value }
            }
            if let node = fields["files"], let items = reader.list(node, what: "'files'") {
                recipe.files = items.compactMap { recipeFile($0, directory: directory, reader: reader) }
            }
        }
        let diagnostics = parsed.diagnostics + reader.diagnostics
        recipe.hasErrors = diagnostics.hasErrors
        return (recipe, diagnostics)
    }

    private static func names(_ node: YAMLNode?, what: String, reader: NodeReader, valid: (String) -> Bool,
                              message: (String) -> Message) -> [String] {
        guard let node, let items = reader.list(node, what: what) else { return [] }
        return items.compactMap { item in
            guard let text = reader.string(item, what: what) else { return nil }
            guard valid(text.value) else {
                reader.report(message(text.value), at: text.location)
                return nil
            }
            return text.value
        }
    }

    private static func recipeFile(_ node: YAMLNode, directory: String, reader: NodeReader) -> RecipeFile? {
        guard let fields = reader.fields(node, what: "file", allowed: ["path", "content", "source", "mode"], required: ["path"]),
              let path = fields["path"].flatMap({ reader.string($0, what: "'path'") }) else { return nil }
        guard path.value.hasPrefix("/") else {
            reader.report(RecipeMessages.relativeFilePath(path.value), at: path.location)
            return nil
        }
        var mode = "0644"
        if let node = fields["mode"], let text = reader.string(node, what: "'mode'") {
            if (3 ... 4).contains(text.value.count), text.value.allSatisfy({ ("0" ... "7").contains($0) }) {
                mode = text.value
            } else {
                reader.report(RecipeMessages.invalidMode(text.value), at: text.location)
            }
        }
        switch (fields["content"], fields["source"]) {
        case let (content?, nil):
            guard let text = reader.string(content, what: "'content'") else { return nil }
            return RecipeFile(path: path.value, contents: Array(text.value.utf8), mode: mode)
        case let (nil, source?):
            guard let text = reader.string(source, what: "'source'") else { return nil }
            let resolved = text.value.hasPrefix("/") ? text.value : directory + "/" + text.value
            guard let data = FileManager.default.contents(atPath: resolved) else {
                reader.report(RecipeMessages.unreadableSource(text.value), at: text.location)
                return nil
            }
            return RecipeFile(path: path.value, contents: Array(data), mode: mode)
        default:
            reader.report(RecipeMessages.fileNeedsOneSource(), at: node.location)
            return nil
        }
    }

    /// The recipe with its ancestors' lists in front of its own; nil when the chain has an error.
    static func resolve(_ name: String, in written: [String: Written], reported: inout Set<String>) -> (ImageRecipe?, [Diagnostic]) {
        var chain: [Written] = []
        var seen: [String] = []
        var current = written[name]
        while let recipe = current {
            if seen.contains(recipe.name.value) {
                let cycle = seen + [recipe.name.value]
                guard reported.insert(Set(cycle).sorted().joined(separator: ",")).inserted, let extends = chain.last?.extends else { return (nil, []) }
                return (nil, [Diagnostic(RecipeMessages.recipeCycle(cycle), at: extends.location)])
            }
            seen.append(recipe.name.value)
            chain.append(recipe)
            guard let parent = recipe.extends else { break }
            current = written[parent.value]
            if current == nil {
                guard reported.insert("unknown:\(recipe.name.value)").inserted else { return (nil, []) }
                let hint = Suggestion.hint(for: parent.value, among: Array(written.keys))
                return (nil, [Diagnostic(RecipeMessages.unknownParent(parent.value, hint: hint), at: parent.location)])
            }
        }
        guard !chain.contains(where: \.hasErrors), let own = chain.first else { return (nil, []) }
        var recipe = ImageRecipe(name: name, file: own.file, description: own.description,
                                 suite: chain.lazy.compactMap(\.suite).first?.value ?? ImageRecipe.defaultSuite,
                                 ancestors: chain.dropFirst().map(\.name.value), packages: [], services: [], masked: [], files: [], commands: [])
        for layer in chain.reversed() {
            recipe.packages += layer.packages.filter { !recipe.packages.contains($0) }
            recipe.services += layer.services.filter { !recipe.services.contains($0) }
            recipe.masked += layer.masked.filter { !recipe.masked.contains($0) }
            for file in layer.files {
                recipe.files.removeAll { $0.path == file.path }
                recipe.files.append(file)
            }
            recipe.commands += layer.commands
        }
        return (recipe, [])
    }

    /// Debian policy: lowercase letters, digits, `+ - .`, two characters at least, a letter or digit first.
    static func isPackageName(_ name: String) -> Bool {
        guard name.count >= 2, let first = name.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// `name.service`, `name.timer`, ...; a bare name means a service.
    static func isUnitName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 255 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":-_.@\\".contains($0)) }
    }
}
