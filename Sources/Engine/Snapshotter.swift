import Digest
import Foundation
import Hypervisor
import LibvirtXML
import Naming
import Planner

/// `snapshot.json` of one snapshot folder (OBSERVE.md, "Forensics of a running host").
public struct SnapshotRecord: Sendable, Codable, Equatable {
    public var host: String
    public var taken: Date
    /// How long the guest's processors stood still for the snapshot.
    public var pausedMS: Int
    public var memoryBytes: UInt64
    public var environment: String
    public var domain: String
    /// The frozen overlay, relative to the folder; nil for a host that boots without a disk.
    public var disk: String?
    /// The base image the overlay is a copy-on-write layer of.
    public var base: String?
    /// How the moment was frozen: `pause` (the guest paused while its memory is dumped and its
    /// overlay copied).
    public var method: String

    enum CodingKeys: String, CodingKey {
        case host, taken, pausedMS = "paused_ms", memoryBytes = "memory_bytes", environment, domain, disk, base, method
    }
}

/// Memory and disk of running hosts at one moment, each host going on afterwards: the guest is
/// paused (its disks drained and flushed by QEMU), its memory dumped as an ELF core and its overlay
/// copied, then resumed. Nothing runs inside the guest.
public enum Snapshotter {
    public static let defaultDirectory = "/var/lib/decoynet/snapshots"

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public struct Taken: Sendable, Codable, Equatable {
        public var folder: String
        public var record: SnapshotRecord
    }

    /// One folder per host under `directory` (`ENV-HOST-YYYYMMDDTHHMMSSZ`), sealed. Every host must be
    /// running and every snapshot fit on the folder's disk before any host is paused.
    public static func snapshot(environment: String, hosts: [String], directory: String, hypervisor: any Hypervisor,
                                progress: @Sendable (String) -> Void = { _ in }) async throws -> [Taken] {
        let poolName = Naming.pool(environment: environment)
        let actual = try await ActualState.read(from: hypervisor, poolName: poolName)
        let selected = try actual.ownedDomains(environment: environment, hosts: hosts, uri: hypervisor.uri)
        for (live, metadata) in selected where live.state != .running {
            throw Failure(description: "host \(metadata.host) of \(environment) is \(live.state.rawValue), not running: a snapshot is of a running host "
                + "(a stopped host's disk is its overlay, which reset --evidence keeps); nothing was paused")
        }
        let volumes = Dictionary(actual.volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        var written: UInt64 = 0
        for (live, _) in selected {
            written += EvidenceSpace.memoryBytes(definition: try await hypervisor.domainXML(name: live.name)) + EvidenceSpace.smallFilesPerHost
            if let overlay = volumes[Naming.overlay(domain: live.name)] { written += allocatedBytes(overlay) }
        }
        let space = try EvidenceSpace.measure(directory: directory, moved: [], written: written)
        guard space.suffices else {
            throw Failure(description: "the snapshots need about \(ByteCount.text(space.needed)) but \(directory) has \(ByteCount.text(space.available)) free; "
                + "nothing was paused: free some space there or give --evidence a folder on a larger disk")
        }
        // One host at a time: each pause is its own, and the writes of two do not slow both.
        var taken: [Taken] = []
        for (live, metadata) in selected {
            taken.append(try await snapshot(live, metadata, environment: environment, overlay: volumes[Naming.overlay(domain: live.name)],
                                            poolName: poolName, directory: directory, hypervisor: hypervisor, progress: progress))
        }
        return taken
    }

    private static func snapshot(_ live: LiveDomain, _ metadata: DomainMetadata, environment: String, overlay: String?, poolName: String,
                                 directory: String, hypervisor: any Hypervisor, progress: @Sendable (String) -> Void) async throws -> Taken {
        let taken = Date()
        let folder = try EvidenceFolder.create(in: directory, environment: environment + "-" + metadata.host, at: taken)
        let definition = try await hypervisor.domainXML(name: live.name)
        let base = try? await hypervisor.volumeXML(pool: poolName, name: Naming.overlay(domain: live.name))
        progress("\(metadata.host): pausing")
        let clock = ContinuousClock()
        let paused = clock.now
        try await hypervisor.suspendDomain(name: live.name)
        do {
            try await hypervisor.dumpMemory(name: live.name, to: folder + "/memory")
            if let overlay { try copy(overlay, to: folder + "/disk.qcow2") }
        } catch {
            // The host goes on, and no half-written snapshot stays behind.
            try? await hypervisor.resumeDomain(name: live.name)
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
        try await hypervisor.resumeDomain(name: live.name)
        let elapsed = clock.now - paused
        let pausedMS = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let memoryBytes = (try? FileManager.default.attributesOfItem(atPath: folder + "/memory")[.size] as? NSNumber)??.uint64Value ?? 0
        progress("\(metadata.host): resumed after \(pausedMS) ms, \(ByteCount.text(memoryBytes)) of memory")

        let record = SnapshotRecord(host: metadata.host, taken: taken, pausedMS: pausedMS, memoryBytes: memoryBytes, environment: environment,
                                    domain: live.name, disk: overlay == nil ? nil : "disk.qcow2",
                                    base: base.flatMap(backingPath), method: "pause")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(record).write(to: URL(fileURLWithPath: folder + "/snapshot.json"))
        try Data(definition.utf8).write(to: URL(fileURLWithPath: folder + "/domain.xml"))
        let files = ["memory", "disk.qcow2", "domain.xml", "snapshot.json"].filter { FileManager.default.fileExists(atPath: folder + "/" + $0) }
        try EvidenceFolder.writeSums(files.map { try EvidenceFolder.describe(folder + "/" + $0, relativeTo: folder) }, in: folder)
        try EvidenceFolder.seal(folder)
        return Taken(folder: folder, record: record)
    }

    /// The base image of an overlay's volume document.
    static func backingPath(_ volumeXML: String) -> String? {
        XMLElement.parse(volumeXML)?.child("backingStore")?.child("path")?.text
    }

    /// What a sparse file really holds on disk.
    static func allocatedBytes(_ path: String) -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return UInt64(max(info.st_blocks, 0)) * 512
    }

    /// A sparse copy, sharing blocks where the file system can (`cp --reflink=auto`).
    static func copy(_ source: String, to destination: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/cp")
        process.arguments = ["--sparse=always", "--reflink=auto", "--", source, destination]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "cannot copy \(source): \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
