import Diagnostics
import Foundation
import Topology

/// The pipeline from a topology file to a resolved environment and its libvirt documents.
///
/// The CLI and any later front end call these; nothing here prints.
public enum Compiler {
    public struct Result: Sendable {
        public var diagnostics: [Diagnostic]
        /// Present only when there was no error.
        public var environment: ResolvedEnvironment?
    }

    /// Loads, validates and lowers `path`. Lowering runs only on a file without errors, so that its
    /// findings (exhausted address pools) never repeat a problem already reported.
    public static func lower(path: String, projectTemplates: String?, instance: InstanceSelector? = nil, images: ImagePolicy = ImagePolicy(),
                             templateRoots: [String]? = nil) -> Result {
        let loaded = TopologyLoader.load(path: path, projectTemplates: projectTemplates, instance: instance, images: images, templateRoots: templateRoots)
        guard let topology = loaded.topology, !loaded.diagnostics.hasErrors else {
            return Result(diagnostics: loaded.diagnostics, environment: nil)
        }
        var lowering = Lowering(topology: topology, templates: loaded.templates)
        var environment = lowering.lower()
        if let instance, let name = environment?.name {
            environment?.instanceOf = String(name.dropLast(instance.suffix.count + 1))
        }
        return Result(diagnostics: (loaded.diagnostics + lowering.diagnostics).normalized(), environment: environment)
    }
}

extension CompiledEnvironment {
    /// Writes `networks/`, `domains/`, `volumes/` and `seeds/` under `directory`, removing documents of
    /// objects that no longer exist, so the folder always mirrors the topology.
    public func write(to directory: String) throws {
        let fileManager = FileManager.default
        // Into a folder that did not exist there is nothing stale to remove and nothing to compare.
        let fresh = !fileManager.fileExists(atPath: directory)
        var jobs: [(folder: String?, files: [(path: String, text: String)])] = []
        for (folder, documents) in [("networks", networks), ("domains", domains), ("volumes", volumes)] {
            let path = directory + "/" + folder
            try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true)
            if !fresh {
                let wanted = Set(documents.map { $0.name + ".xml" })
                for stale in (try fileManager.contentsOfDirectory(atPath: path)) where stale.hasSuffix(".xml") && !wanted.contains(stale) {
                    try fileManager.removeItem(atPath: path + "/" + stale)
                }
            }
            jobs += documents.map { (nil, [(path + "/" + $0.name + ".xml", $0.xml)]) }
        }
        // Each host's seed files, in `seeds/HOST/` as the seed disk names them; the folder is made
        // by the same worker that writes into it.
        let seedsPath = directory + "/seeds"
        try fileManager.createDirectory(atPath: seedsPath, withIntermediateDirectories: true)
        if !fresh {
            let wantedSeeds = Set(seeds.map(\.host))
            for stale in try fileManager.contentsOfDirectory(atPath: seedsPath) where !wantedSeeds.contains(stale) {
                try fileManager.removeItem(atPath: seedsPath + "/" + stale)
            }
        }
        for (host, seed) in seeds {
            let folder = seedsPath + "/" + host
            jobs.append((folder, seed.texts.map { (folder + "/" + $0.name, $0.text) }))
        }
        let failures = parallelMap(jobs) { job -> OutputFile.WriteError? in
            do {
                if let folder = job.folder { try OutputFile.makeFolder(folder) }
                for file in job.files { try OutputFile.write(file.text, to: file.path, compare: !fresh) }
                return nil
            } catch {
                return error as? OutputFile.WriteError
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }
}
