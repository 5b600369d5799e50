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

    @Option(help: "How many libvirt calls run at once.")
    var parallel: Int = 8

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

/// `--instances` on the verbs that take an environment: act on every copy of it instead.
struct CopiesFlag: ParsableArguments {
    @Flag(name: .customLong("instances"), help: "Act on every copy of the environment made with apply --instances/--instance.")
    var all = false

    /// The environment itself, or the names of all its copies on the connection.
    func environments(_ environment: String, operations: Operations) async throws -> [String] {
        guard all else { return [environment] }
        let copies = try await failing { try await operations.copies(of: environment) }
        if copies.isEmpty { Terminal.error("no copies of \(environment) on \(operations.hypervisor.uri)") }
        return copies
    }
}
