import ArgumentParser
import Compiler
import Engine
import Foundation
import Hypervisor
import Naming
import Topology

/// Options every verb that reads a topology shares.
struct TopologyOptions: ParsableArguments {
    @Option(name: .customLong("templates"), help: ArgumentHelp("The project's template folder, last on the search path.", valueName: "dir"))
    var projectTemplates: String?

    /// `--templates`, else `DECOYNET_TEMPLATES`, else the `templates/` of the checkout this binary
    /// was built in, else the installed share folder.
    var templatesDirectory: String? {
        projectTemplates ?? projectFolder("templates", variable: "DECOYNET_TEMPLATES")
    }

    @Option(name: .customLong("allow-images"), help: ArgumentHelp("A folder base images may come from besides the image store (repeatable).", valueName: "dir"))
    var allowedImageFolders: [String] = []

    /// Where base images, kernels and initrds may come from: the image store (`DECOYNET_IMAGES`,
    /// else /var/lib/decoynet/images) and the folders `--allow-images` names.
    var imageRoots: [String] {
        let store = ProcessInfo.processInfo.environment["DECOYNET_IMAGES"].flatMap { $0.isEmpty ? nil : $0 } ?? Naming.imageStore
        return [store] + allowedImageFolders.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    /// The policy for a topology's image files: confined to `imageRoots`; present, for a deploy.
    func imagePolicy(requireFiles: Bool = false) -> ImagePolicy {
        ImagePolicy(requireFiles: requireFiles, allowedRoots: imageRoots)
    }
}

/// A folder the project ships (`templates`, `images`): `variable` when set, else the folder of the
/// checkout this binary was built in, else the installed share folder.
func projectFolder(_ name: String, variable: String) -> String? {
    if let fromEnvironment = ProcessInfo.processInfo.environment[variable], !fromEnvironment.isEmpty {
        return fromEnvironment
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var folder = executable.deletingLastPathComponent()
    for _ in 0 ..< 6 {
        let candidate = folder.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
           FileManager.default.fileExists(atPath: candidate.path) {
            return candidate.path
        }
        folder = folder.deletingLastPathComponent()
    }
    for shared in ["/usr/local/share/decoynet/" + name, "/usr/share/decoynet/" + name]
        where FileManager.default.fileExists(atPath: shared) {
        return shared
    }
    return nil
}

extension Acceleration: ExpressibleByArgument {}
extension GraphRenderer.Format: ExpressibleByArgument {}

/// Options of every verb that talks to libvirt.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("connect"), help: ArgumentHelp("libvirt URI; default: LIBVIRT_DEFAULT_URI, else qemu:///system.", valueName: "uri"))
    var uri: String?

    /// 32: with 48 guests starting on 2 cores, each start waits seconds for a starved QEMU, and 8 at
    /// once took 87 s where a virsh script starting all at once took 38 s (32: 41 s).
    @Option(help: "How many libvirt calls run at once.")
    var parallel: Int = 32

    func validate() throws {
        guard (1 ... 256).contains(parallel) else { throw ValidationError("--parallel must be 1 to 256.") }
    }

    /// `--connect`, else `LIBVIRT_DEFAULT_URI`, else `qemu:///system`, as libvirt itself chooses.
    var resolvedURI: String {
        LibvirtHypervisor.resolveURI(uri)
    }
}

/// `auto` picks KVM where it can boot stock guests and TCG otherwise.
enum AccelerationChoice: String, ExpressibleByArgument, CaseIterable {
    case auto
    case kvm
    case qemu
}

/// The environment name argument of `health`, `status`, `reset` and `destroy` (a copy's name,
/// `ENV-i2`, can be longer than a topology's own).
func checkEnvironmentName(_ name: String) throws {
    if !Language.isValidName(name, limit: Language.nameLimit) { throw ValidationError("'\(name)' is not an environment name (lowercase letters, digits and '-').") }
}

/// The value of `--instances`: N copies, ENV-i1 ... ENV-iN, on every verb; `all` (on the verbs
/// that act on an existing environment) every copy there is.
enum CopyCount: ExpressibleByArgument, Equatable {
    case count(Int)
    case all

    init?(argument: String) {
        if argument == "all" { self = .all; return }
        guard let number = Int(argument) else { return nil }
        self = .count(number)
    }

    static var defaultCompletionKind: CompletionKind { .list(["all"]) }
}

/// `--instances N|all` on the verbs that take an environment: act on copies of it instead.
struct CopiesFlag: ParsableArguments {
    @Option(name: .customLong("instances"),
            help: ArgumentHelp("Act on the copies ENV-i1 ... ENV-iN made with apply --instances N, or on every copy of the environment (all).",
                               valueName: "n|all"))
    var instances: CopyCount?

    var all: Bool { instances != nil }

    func validate() throws {
        if case let .count(number) = instances, !(1 ... 200).contains(number) { throw ValidationError("--instances must be 1 to 200, or all.") }
    }

    /// The environment itself, or the names of the copies asked for that exist on the connection
    /// (each one asked for that does not is named on standard error).
    func environments(_ environment: String, operations: Operations) async throws -> [String] {
        guard let instances else { return [environment] }
        let existing = try await failing { try await operations.copies(of: environment) }
        switch instances {
        case .all:
            if existing.isEmpty { Terminal.error("no copies of \(environment) on \(operations.hypervisor.uri)") }
            return existing
        case let .count(number):
            let asked = (1 ... number).map { "\(environment)-i\($0)" }
            let missing = asked.filter { !existing.contains($0) }
            if !missing.isEmpty { Terminal.error("no copy \(missing.joined(separator: ", ")) on \(operations.hypervisor.uri)") }
            return asked.filter { existing.contains($0) }
        }
    }
}
