import Compiler
import Digest
import Foundation
import Hypervisor
import LibvirtXML
import Naming
import Planner

/// Returns hosts to their clean state after an infection run: stop, keep or discard the overlay
/// (exactly what the guest changed on its disk), a fresh overlay on the same base, start. Networks
/// and the other hosts keep running; base images are never written.
public enum Resetter {
    public struct Options: Sendable {
        /// Host names; empty means every host of the environment.
        public var hosts: [String]
        /// Where to keep the evidence; nil discards the overlays.
        public var evidenceDirectory: String?
        /// Also dump each running guest's memory into the evidence.
        public var memory: Bool
        public var parallelism: Int
        /// Boot every host, even one whose clean state was kept (see `CleanState`).
        public var cold: Bool
        /// Where clean states are kept.
        public var cleanStateRoot = Naming.cleanStateRoot
        /// Hosts restored from their clean states at once, each from its restore until its guest
        /// stepped its clock. Restored guests all run on from that moment: more at once than the
        /// cores can carry and none answers in time (131 at 32 at once on 2 cores: not one did).
        public var restoreSlots: Int
        /// Starts the hosts that are not restored at once (true), or leaves them stopped (false) for
        /// the caller to boot at its pace (`BootScheduler`); `Report.stopped` names them.
        public var bootNow: Bool

        public init(hosts: [String] = [], evidenceDirectory: String? = nil, memory: Bool = false, parallelism: Int = 8, cold: Bool = false,
                    restoreSlots: Int = 2 * ProcessInfo.processInfo.activeProcessorCount, bootNow: Bool = true) {
            self.hosts = hosts
            self.evidenceDirectory = evidenceDirectory
            self.memory = memory
            self.parallelism = parallelism
            self.cold = cold
            self.restoreSlots = max(1, restoreSlots)
            self.bootNow = bootNow
        }
    }

    public struct Report: Sendable {
        public var hosts: [String]
        public var outcomes: [VertexOutcome]
        /// The evidence folder of this reset, when evidence was kept.
        public var evidenceFolder: String?
        public var manifest: EvidenceManifest?
        /// Hosts restored from their clean state (the others booted).
        public var restored: [String] = []
        /// Hosts whose clean state could not be restored, and why: they booted instead.
        public var warnings: [String] = []
        /// Hosts left stopped for the caller to boot (`Options.bootNow` false).
        public var stopped: [String] = []
        /// Hosts whose reset step completed (the others' failed or were not reached).
        public var completed: [String] = []
    }

    /// Who was restored from memory and who fell back to a boot, gathered from parallel steps.
    actor Restores {
        var restored: [String] = []
        var warnings: [String] = []
        var stopped: [String] = []
        var completed: [String] = []
        func add(_ host: String, _ warning: String?) {
            if let warning { warnings.append("\(host): \(warning)") } else { restored.append(host) }
        }
        func leftStopped(_ host: String) { stopped.append(host) }
        func complete(_ host: String) { completed.append(host) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func reset(environment: String, options: Options, hypervisor: any Hypervisor, capture: (any TrafficCapture)?,
                             cancellation: Cancellation = Cancellation(),
                             onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> Report {
        let poolName = Naming.pool(environment: environment)
        let actual = try await ActualState.read(from: hypervisor, poolName: poolName)
        let owned = actual.ownedDomains(environment: environment)
        let selected = try actual.ownedDomains(environment: environment, hosts: options.hosts, uri: hypervisor.uri)
        let volumes = Dictionary(actual.volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        if Naming.isLocalQEMU(hypervisor.uri) {
            try checkPoolSpace(volumes: selected.compactMap { volumes[Naming.overlay(domain: $0.domain.name)] }, outcome: "nothing was stopped")
        }
        if let directory = options.evidenceDirectory {
            try await checkSpace(in: directory, for: selected, volumes: volumes, environment: environment, memory: options.memory,
                                 hypervisor: hypervisor, capture: capture)
        }
        let started = Date()
        let folder = try options.evidenceDirectory.map { try EvidenceFolder.create(in: $0, environment: environment, at: started) }
        let collected = EvidenceCollector()
        let restores = Restores()
        let cleanState = options.cold ? nil : CleanState(hypervisor: hypervisor, root: options.cleanStateRoot)
        let restoring = BootGate(slots: options.restoreSlots)

        // In boot order (the walk starts its steps in this order): the directory is back before
        // the machines that ask it.
        let ordered = selected.sorted { ($0.metadata.bootOrder, $0.domain.name) < ($1.metadata.bootOrder, $1.domain.name) }
        let vertices = ordered.map { live, metadata in
            Vertex(id: StepID(.host, .reset, live.name), label: "reset host \(metadata.host)") {
                let files = try await resetHost(live, metadata, environment: environment, poolName: poolName,
                                                volumePath: volumes[Naming.overlay(domain: live.name)], folder: folder.map { $0 + "/" + metadata.host },
                                                memory: options.memory, hypervisor: hypervisor, cleanState: cleanState, restores: restores,
                                                restoring: restoring, bootNow: options.bootNow)
                await collected.add(HostEvidence(host: metadata.host, domain: live.name, digest: metadata.digest, stoppedAt: Date(), files: files))
                await restores.complete(metadata.host)
            }
        }
        let outcomes = try await GraphWalker.walk(vertices, parallelism: options.parallelism, cancellation: cancellation, onEvent: onEvent)

        var manifest: EvidenceManifest?
        if let folder {
            // The traffic so far is evidence too: close the running captures, keep them, start new ones.
            var captures: [EvidenceFile] = []
            if let capture {
                for running in capture.running(environment: environment) {
                    try FileManager.default.createDirectory(atPath: folder + "/captures", withIntermediateDirectories: true)
                    try capture.stop(running)
                    let kept = folder + "/captures/" + URL(fileURLWithPath: running.file).lastPathComponent
                    try EvidenceFolder.move(running.file, to: kept)
                    captures.append(try EvidenceFolder.describe(kept, relativeTo: folder))
                    _ = try capture.start(environment: environment, network: running.network, bridge: running.bridge)
                }
            }
            let digestLines = owned.map { "\($0.metadata.host) \($0.metadata.digest)\n" }.sorted().joined()
            manifest = EvidenceManifest(environment: environment, topologyDigest: "sha256:" + SHA256.hash(digestLines).hexString,
                                        created: started, tool: "decoynet", hosts: await collected.hosts.sorted { $0.host < $1.host },
                                        captures: captures)
            try EvidenceFolder.writeManifest(manifest!, in: folder)
            try EvidenceFolder.seal(folder)
        }
        return Report(hosts: selected.map(\.metadata.host), outcomes: outcomes, evidenceFolder: folder, manifest: manifest,
                      restored: await restores.restored.sorted(), warnings: await restores.warnings.sorted(), stopped: await restores.stopped.sorted(),
                      completed: await restores.completed.sorted())
    }

    /// What a reset keeping evidence of `selected` moves into its folder (overlays, console logs,
    /// captures) and writes there anew (memory dumps, the small files).
    private static func evidenceNeeds(for selected: [(domain: LiveDomain, metadata: DomainMetadata)], volumes: [String: String],
                                      environment: String, memory: Bool, hypervisor: any Hypervisor,
                                      capture: (any TrafficCapture)?) async throws -> (moved: [String], written: UInt64) {
        var moved: [String] = []
        var written: UInt64 = 0
        for (live, _) in selected {
            let definition = try await hypervisor.domainXML(name: live.name)
            if let overlay = volumes[Naming.overlay(domain: live.name)] { moved.append(overlay) }
            if let log = consoleLog(in: definition) { moved.append(log) }
            if memory, live.state == .running { written += EvidenceSpace.memoryBytes(definition: definition) }
            written += EvidenceSpace.smallFilesPerHost
        }
        moved += capture?.running(environment: environment).map(\.file) ?? []
        return (moved, written)
    }

    /// About how many bytes the evidence of a reset of `hosts` (every host when empty) would take,
    /// asked before it starts (a quota's check): what it would move and write, wherever it lies now.
    public static func evidenceEstimate(environment: String, hosts: [String], memory: Bool, hypervisor: any Hypervisor,
                                        capture: (any TrafficCapture)?) async throws -> UInt64 {
        let actual = try await ActualState.read(from: hypervisor, poolName: Naming.pool(environment: environment))
        let selected = try actual.ownedDomains(environment: environment, hosts: hosts, uri: hypervisor.uri)
        let volumes = Dictionary(actual.volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        let (moved, written) = try await evidenceNeeds(for: selected, volumes: volumes, environment: environment, memory: memory,
                                                       hypervisor: hypervisor, capture: capture)
        return moved.reduce(written) { $0 + EvidenceStore.bytes(of: $1) }
    }

    /// Refuses a reset that would make overlays on a pool whose disk has less than
    /// `EvidenceSpace.reserve` free: the guests write into them at once, and a full disk pauses
    /// every guest on it. Asked for this machine's QEMU only; a folder that does not exist here is not asked.
    public static func checkPoolSpace(volumes: [String], outcome: String, reserve: UInt64 = EvidenceSpace.reserve) throws {
        for directory in Set(volumes.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }).sorted() {
            guard FileManager.default.fileExists(atPath: directory), let free = EvidenceSpace.free(at: directory) else { continue }
            guard free >= reserve else {
                throw Failure(description: "the pool's disk (\(directory)) has \(ByteCount.text(free)) free, under the \(ByteCount.text(reserve)) "
                    + "kept for the guests' overlays; \(outcome): free some space there (decoynet evidence rm, old images)")
            }
        }
    }

    /// Refuses, before any host stops, a reset whose evidence would not fit on its folder's disk.
    private static func checkSpace(in directory: String, for selected: [(domain: LiveDomain, metadata: DomainMetadata)],
                                   volumes: [String: String], environment: String, memory: Bool,
                                   hypervisor: any Hypervisor, capture: (any TrafficCapture)?) async throws {
        let (moved, written) = try await evidenceNeeds(for: selected, volumes: volumes, environment: environment, memory: memory,
                                                       hypervisor: hypervisor, capture: capture)
        let space = try EvidenceSpace.measure(directory: directory, moved: moved, written: written)
        guard space.suffices else {
            throw Failure(description: "the evidence needs about \(ByteCount.text(space.needed)) beyond the \(ByteCount.text(EvidenceSpace.reserve)) kept for the guests, but \(directory) has \(ByteCount.text(space.available)) free; "
                + "nothing was stopped: free some space there or give --evidence a folder on a larger disk")
        }
    }

    private static func resetHost(_ live: LiveDomain, _ metadata: DomainMetadata, environment: String, poolName: String, volumePath: String?,
                                  folder: String?, memory: Bool, hypervisor: any Hypervisor, cleanState: CleanState?,
                                  restores: Restores, restoring: BootGate, bootNow: Bool) async throws -> [EvidenceFile] {
        let name = live.name
        let volumeName = Naming.overlay(domain: name)
        // Every host's own overlay is made on a disk that still has room for the guests to write:
        // resets filling the pool stop before the disk does, with the host as it was.
        if let volumePath, Naming.isLocalQEMU(hypervisor.uri) { try checkPoolSpace(volumes: [volumePath], outcome: "the host was left as it was") }
        var kept: [String] = []
        let definition = try await hypervisor.domainXML(name: name)
        if let folder {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if memory, live.state == .running {
                try await hypervisor.dumpMemory(name: name, to: folder + "/memory.raw")
                kept.append(folder + "/memory.raw")
            }
            try Data(definition.utf8).write(to: URL(fileURLWithPath: folder + "/domain.xml"))
            kept.append(folder + "/domain.xml")
            var leases: [[String: String]] = []
            for interface in metadata.interfaces where interface.dhcp {
                let held = (try? await hypervisor.dhcpLeases(network: Naming.object(environment: environment, name: interface.network))) ?? []
                for lease in held where lease.mac.lowercased() == interface.mac {
                    leases.append(["network": interface.network, "mac": lease.mac, "address": lease.address, "hostname": lease.hostname ?? ""])
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(leases).write(to: URL(fileURLWithPath: folder + "/leases.json"))
            kept.append(folder + "/leases.json")
            // Logs that live only in the running guest (a firewall's drops) are read before it stops.
            if live.state == .running {
                for item in metadata.evidence {
                    let path = folder + "/" + item.file
                    let text: String
                    do {
                        let result = try await GuestExec(hypervisor: hypervisor).run(domain: name, arguments: ["sh", "-c", item.command], timeout: 30)
                        text = result.stdout
                    } catch {
                        text = "decoynet: could not read this from the guest: \(error)\n"
                    }
                    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                    kept.append(path)
                }
            }
        }
        // QEMU takes a second or two to exit; the fresh overlay is made meanwhile. Moving or
        // unlinking the old one while QEMU still has it open is safe: its last writes land in
        // the moved file, which is the evidence.
        async let stopped: Void = hypervisor.stopDomain(name: name)
        var fresh: String?
        if let volumePath {
            let made = try freshVolume(from: try await hypervisor.volumeXML(pool: poolName, name: volumeName), name: volumeName)
            fresh = made
            if let folder {
                let evidence = folder + "/overlay.qcow2"
                // The file moves; the pool's record of it goes by deleting the volume (libvirt
                // deletes a file already gone without complaint). A refresh instead fails while
                // another host's volume of the pool is being made ("asynchronous jobs running").
                try EvidenceFolder.move(volumePath, to: evidence)
                try await hypervisor.deleteVolume(pool: poolName, name: volumeName)
                kept.append(evidence)
            } else {
                try await hypervisor.deleteVolume(pool: poolName, name: volumeName)
            }
            // At once: a reset cut short (libvirtd restarted) leaves a host with its overlay.
            try await hypervisor.createVolume(pool: poolName, xml: made)
        }
        try await stopped
        if let folder, let log = consoleLog(in: definition), FileManager.default.fileExists(atPath: log) {
            try FileManager.default.copyItem(atPath: log, toPath: folder + "/console.log")
            kept.append(folder + "/console.log")
        }
        // From memory when the host's clean state was kept for this very domain: its kept disk over
        // the fresh overlay, then its memory. A boot otherwise, and whenever the restore fails (with a
        // warning), never a broken host.
        var restored = false
        if let cleanState, let volumePath, let fresh, !metadata.stealth,
           cleanState.usable(environment: environment, host: metadata.host, digest: metadata.digest) != nil {
            // A slot from the restore until the guest stepped its clock; the fallback needs none.
            await restoring.acquire()
            var failure: (any Error)?
            do {
                try await cleanState.restore(domain: name, metadata: metadata, overlay: volumePath)
            } catch {
                failure = error
            }
            await restoring.release()
            if let failure {
                await restores.add(metadata.host, "its clean state did not restore (\(failure)); it boots instead")
                if (failure as? CleanState.RestoreFailure)?.damaged != false { cleanState.remove(environment: environment, host: metadata.host) }
                try await hypervisor.deleteVolume(pool: poolName, name: volumeName)
                try await hypervisor.createVolume(pool: poolName, xml: fresh)
            } else {
                restored = true
                await restores.add(metadata.host, nil)
            }
        }
        if !restored {
            if bootNow { try await hypervisor.startDomain(name: name) } else { await restores.leftStopped(metadata.host) }
        }
        return try kept.map { try EvidenceFolder.describe($0, relativeTo: URL(fileURLWithPath: folder!).deletingLastPathComponent().path) }
    }

    /// A new overlay like the old one: same name and size, over `backing` or else the old one's
    /// image (a clone's is its warm template's disk: a fresh one is over the template's image).
    static func freshVolume(from xml: String, name: String, backing newBacking: String? = nil) throws -> String {
        guard let volume = XMLElement.parse(xml), let backing = volume.child("backingStore"), let path = backing.child("path")?.text else {
            throw Failure(description: "volume \(name) has no backing image: not a DecoyNet overlay")
        }
        let format = backing.child("format")?[attribute: "type"] ?? "qcow2"
        let capacity = volume.child("capacity").flatMap { ByteCount.bytes(of: $0, defaultUnit: "bytes") }
        return StorageVolume(name: name, capacityBytes: capacity,
                             backingStore: StorageVolumeBackingStore(path: newBacking ?? WarmTemplates.imageDisk(of: path), format: format)).serialized()
    }

    /// Where libvirt logs the serial console (`<serial><log file=...>`).
    static func consoleLog(in definition: String) -> String? {
        guard let domain = XMLElement.parse(definition), let devices = domain.child("devices") else { return nil }
        return devices.children("serial").compactMap { $0.child("log")?[attribute: "file"] }.first
    }
}

private actor EvidenceCollector {
    var hosts: [HostEvidence] = []

    func add(_ host: HostEvidence) { hosts.append(host) }
}
