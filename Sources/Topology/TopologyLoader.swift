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
    /// last on the search path. `templateRoots`, when given, are the only folders template files may
    /// be read from (after symbolic links): a server's uploaded topology must not read the host's files.
    public static func load(path: String, projectTemplates: String?, instance: InstanceSelector? = nil, images: ImagePolicy = ImagePolicy(),
                            templateRoots: [String]? = nil) -> Result {
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
        let templates = TemplateLibrary.load(explicit: topology.templatePaths, implicit: implicit, baseDirectory: directory, reader: reader,
                                             allowedRoots: templateRoots)
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

    /// What is wrong with an image file under this policy, if anything: outside the allowed folders
    /// (after symbolic links), not a regular file (a device reads the host's disk), or a qcow2 whose
    /// backing chain leaves the allowed folders, names a protocol (QEMU reads `json:{...}`,
    /// `nbd://...` or `file:/...` as one, not as a file beside it) or keeps its data in another file.
    public func problem(_ path: String) -> ImageProblem? {
        guard let roots = allowedRoots else { return nil }
        guard Self.isInside(path, roots: roots) else { return .outside }
        var status = stat()
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if stat(real, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG { return .notAFile }
        var current = real
        for _ in 0 ..< 16 {
            if Self.qcow2HasExternalData(current) { return .externalData(current == real ? path : current) }
            guard let backing = Self.qcow2BackingFile(current) else { return nil }
            if Self.namesProtocol(backing) { return .backingProtocol(backing) }
            let resolved = backing.hasPrefix("/") ? backing : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(backing).path
            guard Self.isInside(resolved, roots: roots) else { return .backingOutside(backing) }
            current = URL(fileURLWithPath: resolved).resolvingSymlinksInPath().path
        }
        return .backingOutside("a chain longer than 16")
    }

    /// The backing file a qcow2 image names in its header (QEMU's format: magic `QFI\xfb`, then the
    /// backing name's offset at byte 8 and length at byte 16), or nil for none or another format.
    public static func qcow2BackingFile(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 20), header.count == 20, Array(header.prefix(4)) == [0x51, 0x46, 0x49, 0xFB] else { return nil }
        let offset = header[8 ..< 16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let length = header[16 ..< 20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard offset > 0, length > 0, length <= 1023, (try? handle.seek(toOffset: offset)) != nil,
              let name = try? handle.read(upToCount: Int(length)), name.count == Int(length) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// A name QEMU reads as `PROTOCOL:...` (a colon before any slash), not as a file's path.
    static func namesProtocol(_ name: String) -> Bool {
        guard let colon = name.firstIndex(of: ":") else { return false }
        return !name[..<colon].contains("/")
    }

    /// Whether a qcow2 (version 3) keeps its data in an external file: incompatible feature bit 2,
    /// at byte 72 of the header. The file it names would be read as the guest's disk.
    static func qcow2HasExternalData(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 80), header.count == 80, Array(header.prefix(4)) == [0x51, 0x46, 0x49, 0xFB] else { return false }
        let version = header[4 ..< 8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let incompatible = header[72 ..< 80].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return version >= 3 && incompatible & 0b100 != 0
    }

    /// Whether `path`, with every symbolic link and `..` resolved, is inside one of `roots`.
    public static func isInside(_ path: String, roots: [String], orEqual: Bool = false) -> Bool {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        return roots.contains { root in
            let base = URL(fileURLWithPath: root).resolvingSymlinksInPath().standardizedFileURL.path
            return real.hasPrefix(base.hasSuffix("/") ? base : base + "/") || (orEqual && real == base)
        }
    }
}

public enum ImageProblem: Sendable, Equatable {
    case outside
    case notAFile
    case backingOutside(String)
    case backingProtocol(String)
    case externalData(String)
}
