import ArgumentParser
import Diagnostics
import Engine
import Foundation
import Images
import Topology

/// `decoynet image build|list|rm`: the base images hosts boot, built from the recipes in `images/`.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Build, list and remove the base images that hosts boot (Debian, from recipes in images/).",
        subcommands: [ImageBuildCommand.self, ImageListCommand.self, ImageRemoveCommand.self]
    )
}

/// Where recipes are read from and images are kept.
struct ImageOptions: ParsableArguments {
    @Option(name: .customLong("recipes"), help: ArgumentHelp("The folder of image recipes; default: the project's images/.", valueName: "dir"))
    var recipesFolder: String?

    @Option(name: .customLong("store"), help: ArgumentHelp("Where images are kept; default: DECOYNET_IMAGES, else /var/lib/decoynet/images.", valueName: "dir"))
    var storeFolder: String?

    @Option(name: .customLong("cache"), help: ArgumentHelp("Where downloaded packages are kept between builds.", valueName: "dir"))
    var cacheFolder: String = "/var/cache/decoynet/apt"

    var store: ImageStore { ImageStore(root: storeFolder) }

    /// The recipes, or the diagnostics that stop the command.
    func recipes() throws -> RecipeLoader.Result {
        guard let folder = recipesFolder ?? projectFolder("images", variable: "DECOYNET_RECIPES") else {
            throw ValidationError("no recipe folder found; pass --recipes DIR")
        }
        let result = RecipeLoader.load(directory: folder)
        DiagnosticOutput.printToStandardError(result.diagnostics)
        return result
    }
}

struct ImageBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build images from their recipes (unchanged recipes are not rebuilt).",
        discussion: "Needs root and mmdebstrap; packages come from the Debian archive and are cached in /var/cache/decoynet/apt."
    )

    @Argument(help: "Images to build.") var names: [String] = []
    @Flag(help: "Build every recipe.") var all = false
    @Flag(help: "Rebuild even when the recipe did not change.") var force = false
    @Option(help: "How many images build at once; default: the number of cores.") var jobs: Int?
    @Flag(help: "Print the outcome as JSON.") var json = false
    @OptionGroup var options: ImageOptions

    func validate() throws {
        if names.isEmpty, !all { throw ValidationError("name the images to build, or pass --all") }
        if !names.isEmpty, all { throw ValidationError("pass image names or --all, not both") }
        if let jobs, !(1 ... 64).contains(jobs) { throw ValidationError("--jobs must be 1 to 64") }
    }

    struct Outcome: Encodable {
        var name: String
        var status: String
        var seconds: Double?
        var diskBytes: UInt64?
        var message: String?
    }

    func run() async throws {
        let loaded = try options.recipes()
        var selected: [ImageRecipe] = []
        for name in all ? loaded.names : names {
            guard let recipe = loaded.recipes[name] else {
                if !loaded.diagnostics.hasErrors {
                    Terminal.error("error: no recipe named '\(name)'\(Suggestion.hint(for: name, among: loaded.names))")
                }
                throw ExitCode.failure
            }
            selected.append(recipe)
        }
        if loaded.diagnostics.hasErrors, !all { throw ExitCode.failure }
        let builder = ImageBuilder(store: options.store, cache: options.cacheFolder)
        let outcomes = Outcomes()
        let start = Date()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let failed = await builder.build(selected, jobs: jobs ?? cores, force: force) { event in
            let elapsed = String(format: "%5.1fs", Date().timeIntervalSince(start))
            switch event {
            case let .upToDate(name):
                outcomes.add(Outcome(name: name, status: "up-to-date"))
                if !json { Terminal.error("\(elapsed) \(name): up to date") }
            case let .started(name):
                if !json { Terminal.error("\(elapsed) \(name): building") }
            case let .phase(name, what):
                if !json { Terminal.error("\(elapsed) \(name): \(what)") }
            case let .built(name, seconds, bytes):
                outcomes.add(Outcome(name: name, status: "built", seconds: (seconds * 10).rounded() / 10, diskBytes: bytes))
                if !json { Terminal.error(String(format: "%@ %@: built in %.1fs, %@", elapsed, name, seconds, ByteCount.text(bytes))) }
            case let .failed(name, message):
                outcomes.add(Outcome(name: name, status: "failed", message: message))
                Terminal.error("\(elapsed) \(name): FAILED: \(message)")
            }
        }
        // Each kernel's symbol table for decoynet forensics, made once per kernel (by its digest).
        var tablesFailed = false
        if let scripts = projectFolder("forensics", variable: "DECOYNET_FORENSICS") {
            for recipe in selected where !failed.contains(recipe.name) {
                for kernel in ["vmlinuz", "vmlinuz-generic"].map({ options.store.folder(recipe.name) + "/" + $0 })
                    where FileManager.default.fileExists(atPath: kernel) {
                    do {
                        if try SymbolTables.ensure(kernel: kernel, directory: SymbolTables.defaultDirectory, scripts: scripts), !json {
                            Terminal.error("\(recipe.name): made the symbol table of \(kernel) for decoynet forensics")
                        }
                    } catch {
                        Terminal.error("\(recipe.name): FAILED: \(error)")
                        tablesFailed = true
                    }
                }
            }
        }
        if json { print(DiagnosticOutput.json(outcomes.all.sorted { $0.name < $1.name })) }
        if !failed.isEmpty || loaded.diagnostics.hasErrors || tablesFailed { throw ExitCode.failure }
    }

    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Outcome] = []
        func add(_ outcome: Outcome) { lock.withLock { items.append(outcome) } }
        var all: [Outcome] { lock.withLock { items } }
    }
}

struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the recipes and built images, with their status.")

    @Flag(help: "Print the list as JSON.") var json = false
    @OptionGroup var options: ImageOptions

    struct Row: Encodable {
        var name: String
        var status: String
        var sizeBytes: UInt64?
        var recipeDigest: String?
        var builtAt: String?
        var description: String?
        /// Its warm templates (`WarmTemplates`): hosts of these layouts start by restore.
        var templates: [Template]
    }

    struct Template: Encodable {
        var key: String
        var seedBytes: Int
        var sizeBytes: UInt64
        var built: String
        var bootSeconds: Double
    }

    func run() async throws {
        let loaded = try options.recipes()
        let store = options.store
        let names = Set(loaded.names).union(store.builtNames()).sorted()
        let rows = names.map { name -> Row in
            let recipe = loaded.recipes[name]
            let manifest = store.manifest(name)
            let digest = recipe.map(RecipeDigest.of)
            let status: String = switch (recipe, manifest) {
            case (nil, _): "no recipe"
            case (_, nil): "not built"
            case let (_, manifest?): manifest.recipeDigest == digest ? "built" : "outdated"
            }
            let templates = WarmTemplates.templates(imageFolder: store.folder(name)).map {
                Template(key: $0.record.key, seedBytes: $0.record.seedBytes, sizeBytes: $0.bytes,
                         built: ISO8601DateFormatter().string(from: $0.record.built), bootSeconds: ($0.record.bootSeconds * 10).rounded() / 10)
            }
            return Row(name: name, status: status, sizeBytes: manifest.map { _ in store.size(name) },
                       recipeDigest: digest ?? manifest?.recipeDigest, builtAt: manifest?.builtAt, description: recipe?.description, templates: templates)
        }
        if json {
            print(DiagnosticOutput.json(rows))
        } else {
            print(Terminal.table(["IMAGE", "STATUS", "SIZE", "RECIPE", "BUILT", "WARM TEMPLATES"], rows.map { row in
                [row.name, row.status, row.sizeBytes.map(ByteCount.text) ?? "-", row.recipeDigest.map { String($0.dropFirst(7).prefix(12)) } ?? "-", row.builtAt ?? "-",
                 row.templates.isEmpty ? "-" : "\(row.templates.count) (\(ByteCount.text(row.templates.reduce(0) { $0 + $1.sizeBytes })))"]
            }))
        }
    }
}

struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove built images from the store (their recipes stay).")

    @Argument(help: "Images to remove.") var names: [String]
    @Flag(help: "Print the outcome as JSON.") var json = false
    @OptionGroup var options: ImageOptions

    func validate() throws {
        for name in names where !Language.isValidName(name) { throw ValidationError("'\(name)' is not an image name") }
    }

    func run() async throws {
        let store = options.store
        var removed: [String: Bool] = [:]
        for name in names { removed[name] = try store.remove(name) }
        if json {
            print(DiagnosticOutput.json(removed))
        } else {
            for name in names { Terminal.error(removed[name] == true ? "removed \(name)" : "\(name): not in \(store.root)") }
        }
        if removed.values.contains(false) { throw ExitCode.failure }
    }
}
