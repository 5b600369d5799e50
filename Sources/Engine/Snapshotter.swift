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
    /// How the moment was frozen: `live` (QEMU copied the memory while the guest ran, then stopped
    /// it for the last pages, its devices and the overlay's copy) or `pause` (the guest paused while
    /// its memory was dumped and its overlay copied).
    public var method: String
    /// For `live`: QEMU's own measure of the stop, from the guest's last instruction to the stream's
    /// end (the overlay's copy and the resume come after it). `paused_ms` is then measured from
    /// the last question that found QEMU still copying to the resume: within one question of the
    /// stop (a ping from outside finds the guest silent somewhat longer, bench-snapshot).
    public var downtimeMS: Int?
    /// `raw` (offset = physical address) for `live`, `elf` (a core) for `pause`.
    public var memoryFormat: String?

    public init(host: String, taken: Date, pausedMS: Int, memoryBytes: UInt64, environment: String, domain: String, disk: String?, base: String?,
                method: String, downtimeMS: Int? = nil, memoryFormat: String? = nil) {
        self.host = host
        self.taken = taken
        self.pausedMS = pausedMS
        self.memoryBytes = memoryBytes
        self.environment = environment
        self.domain = domain
        self.disk = disk
        self.base = base
        self.method = method
        self.downtimeMS = downtimeMS
        self.memoryFormat = memoryFormat
    }

    enum CodingKeys: String, CodingKey {
        case host, taken, pausedMS = "paused_ms", memoryBytes = "memory_bytes", environment, domain, disk, base, method,
             downtimeMS = "downtime_ms", memoryFormat = "memory_format"
    }
}

/// Memory and disk of running hosts at one moment, each host going on afterwards. Nothing runs
/// inside the guest.
///
/// `live` (the default): QEMU migrates the guest into a file while it runs (precopy: pages dirtied
/// meanwhile are sent again), stops it for the last pages and its devices, and leaves it stopped
/// with its disks flushed; the overlay is copied then and the guest resumed. The stop is tens of
/// milliseconds for an idle 1 GiB guest (bench-snapshot). `pause`: the guest is paused while its
/// memory is dumped as an ELF core and its overlay copied (about a second per GiB).
public enum Snapshotter {
    public static let defaultDirectory = "/var/lib/decoynet/snapshots"

    public enum Method: String, Sendable, Codable, CaseIterable {
        case live, pause
    }

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
                                method: Method = .pause, converter: String? = nil, cancellation: Cancellation = Cancellation(),
                                progress: @Sendable (String) -> Void = { _ in }) async throws -> [Taken] {
        if method == .live, converter.map({ !FileManager.default.fileExists(atPath: $0) }) ?? true {
            throw Failure(description: "a live snapshot needs forensics/memory.py (beside the project's Package.swift, or DECOYNET_FORENSICS); "
                + "nothing was paused: give --method pause, or install the project's forensics folder")
        }
        let poolName = Naming.pool(environment: environment)
        let actual = try await ActualState.read(from: hypervisor, poolName: poolName)
        let selected = try actual.ownedDomains(environment: environment, hosts: hosts, uri: hypervisor.uri)
        for (live, metadata) in selected where live.state != .running {
            throw Failure(description: "host \(metadata.host) of \(environment) is \(live.state.rawValue), not running: a snapshot is of a running host "
                + "(a stopped host's disk is its overlay, which reset --evidence keeps); nothing was paused")
        }
        let volumes = Dictionary(actual.volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        // A live snapshot holds QEMU's stream and the memory made from it at once, for a moment.
        let written = try await bytes(of: selected, volumes: volumes, hypervisor: hypervisor, memoryCopies: method == .live ? 2 : 1)
        let space = try EvidenceSpace.measure(directory: directory, moved: [], written: written)
        guard space.suffices else {
            throw Failure(description: "the snapshots need about \(ByteCount.text(space.needed)) beyond the \(ByteCount.text(EvidenceSpace.reserve)) kept for the guests, but \(directory) has \(ByteCount.text(space.available)) free; "
                + "nothing was paused: free some space there or give --evidence a folder on a larger disk")
        }
        // One host at a time: each pause is its own, and the writes of two do not slow both.
        var taken: [Taken] = []
        for (live, metadata) in selected {
            if cancellation.isCancelled { throw Failure(description: "interrupted: \(taken.count) of \(selected.count) hosts were snapshotted") }
            taken.append(try await snapshot(live, metadata, environment: environment, overlay: volumes[Naming.overlay(domain: live.name)],
                                            poolName: poolName, directory: directory, hypervisor: hypervisor, method: method,
                                            converter: converter, cancellation: cancellation, progress: progress))
        }
        return taken
    }

    /// What the snapshots of `selected` write: each host's memory (`memoryCopies` times), its
    /// overlay as it takes the disk now, and its small files.
    private static func bytes(of selected: [(domain: LiveDomain, metadata: DomainMetadata)], volumes: [String: String], hypervisor: any Hypervisor,
                              memoryCopies: UInt64) async throws -> UInt64 {
        var written: UInt64 = 0
        for (live, _) in selected {
            let memory = EvidenceSpace.memoryBytes(definition: try await hypervisor.domainXML(name: live.name))
            written += memoryCopies * memory + EvidenceSpace.smallFilesPerHost
            if let overlay = volumes[Naming.overlay(domain: live.name)] { written += allocatedBytes(overlay) }
        }
        return written
    }

    /// About how many bytes the snapshots of `hosts` would keep once taken (a quota's check):
    /// memory, overlay and small files, nothing of the environment's captures or console logs.
    public static func estimate(environment: String, hosts: [String], hypervisor: any Hypervisor) async throws -> UInt64 {
        let actual = try await ActualState.read(from: hypervisor, poolName: Naming.pool(environment: environment))
        let selected = try actual.ownedDomains(environment: environment, hosts: hosts, uri: hypervisor.uri)
        let volumes = Dictionary(actual.volumes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        return try await bytes(of: selected, volumes: volumes, hypervisor: hypervisor, memoryCopies: 1)
    }

    private static func snapshot(_ live: LiveDomain, _ metadata: DomainMetadata, environment: String, overlay: String?, poolName: String,
                                 directory: String, hypervisor: any Hypervisor, method: Method, converter: String?,
                                 cancellation: Cancellation, progress: @Sendable (String) -> Void) async throws -> Taken {
        let taken = Date()
        let folder = try EvidenceFolder.create(in: directory, environment: environment + "-" + metadata.host, at: taken)
        let definition = try await hypervisor.domainXML(name: live.name)
        let base = try? await hypervisor.volumeXML(pool: poolName, name: Naming.overlay(domain: live.name))
        var frozen: Frozen
        do {
            switch method {
            case .pause: frozen = try await paused(live.name, host: metadata.host, folder: folder, overlay: overlay, hypervisor: hypervisor, progress: progress)
            case .live: frozen = try await migrated(live.name, host: metadata.host, folder: folder, overlay: overlay, hypervisor: hypervisor,
                                                    cancellation: cancellation, progress: progress)
            }
            if method == .live, let converter {
                let converted = try ToolRun.run("/usr/bin/python3", [converter, folder + "/memory.stream", folder + "/memory"])
                guard converted.status == 0 else {
                    throw Failure(description: "cannot read the memory stream of \(metadata.host): " + Forensics.lastLines(converted.errorText))
                }
                try FileManager.default.removeItem(atPath: folder + "/memory.stream")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
        let memoryBytes = (try? FileManager.default.attributesOfItem(atPath: folder + "/memory")[.size] as? NSNumber)??.uint64Value ?? 0
        progress("\(metadata.host): resumed after \(frozen.pausedMS) ms, \(ByteCount.text(memoryBytes)) of memory")

        let record = SnapshotRecord(host: metadata.host, taken: taken, pausedMS: frozen.pausedMS, memoryBytes: memoryBytes, environment: environment,
                                    domain: live.name, disk: overlay == nil ? nil : "disk.qcow2",
                                    base: base.flatMap(backingPath), method: method.rawValue, downtimeMS: frozen.downtimeMS,
                                    memoryFormat: method == .live ? "raw" : "elf")
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

    struct Frozen {
        var pausedMS: Int
        var downtimeMS: Int?
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The guest paused for the dump and the copy.
    private static func paused(_ domain: String, host: String, folder: String, overlay: String?, hypervisor: any Hypervisor,
                               progress: @Sendable (String) -> Void) async throws -> Frozen {
        progress("\(host): pausing")
        let clock = ContinuousClock()
        let start = clock.now
        try await hypervisor.suspendDomain(name: domain)
        do {
            try await hypervisor.dumpMemory(name: domain, to: folder + "/memory")
            if let overlay { try copy(overlay, to: folder + "/disk.qcow2") }
        } catch {
            // The host goes on, and no half-written snapshot stays behind.
            try? await hypervisor.resumeDomain(name: domain)
            throw error
        }
        try await hypervisor.resumeDomain(name: domain)
        return Frozen(pausedMS: milliseconds(clock.now - start))
    }

    /// QEMU's precopy migration into a file while the guest runs; stopped by QEMU at its end (disks
    /// flushed), the overlay copied, then resumed. QEMU's migration settings are put back as found.
    private static func migrated(_ domain: String, host: String, folder: String, overlay: String?, hypervisor: any Hypervisor,
                                 cancellation: Cancellation, progress: @Sendable (String) -> Void) async throws -> Frozen {
        func qmp(_ command: String, _ arguments: String? = nil, passing descriptor: Int32? = nil) async throws -> [String: Any] {
            let json = #"{"execute":"\#(command)""# + (arguments.map { #","arguments":\#($0)}"# } ?? "}")
            let answer = try await hypervisor.monitorCommand(domain: domain, json: json, passing: descriptor)
            let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any] ?? [:]
            if let error = object["error"] as? [String: Any] {
                throw Failure(description: "QEMU of \(host) refused \(command): \(error["desc"] as? String ?? answer)")
            }
            return object["return"] as? [String: Any] ?? [:]
        }
        let before = try await qmp("query-migrate")
        if let status = before["status"] as? String, ["setup", "active", "pre-switchover", "device", "cancelling"].contains(status) {
            throw Failure(description: "\(host) is already being migrated (\(status)): nothing was paused; try again once that ends")
        }
        let settings = try await qmp("query-migrate-parameters")
        let restore = "{\"max-bandwidth\":\(Forensics.integer(settings["max-bandwidth"]) ?? 33_554_432),\"downtime-limit\":\(Forensics.integer(settings["downtime-limit"]) ?? 300)}"
        // As fast as the disk takes it, and a stop short enough for the guest not to notice.
        _ = try await qmp("migrate-set-parameters", #"{"max-bandwidth":8589934592,"downtime-limit":\#(liveDowntimeLimitMS)}"#)
        let clock = ContinuousClock()
        var started = false, handedOver = false
        do {
            let stream = folder + "/memory.stream"
            let descriptor = open(stream, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw Failure(description: "cannot write \(stream): \(String(cString: strerror(errno)))") }
            do {
                _ = try await qmp("getfd", #"{"fdname":"decoynet-snapshot"}"#, passing: descriptor)
            } catch {
                close(descriptor)
                throw error
            }
            close(descriptor)
            handedOver = true
            progress("\(host): copying its memory while it runs")
            _ = try await qmp("migrate", #"{"uri":"fd:decoynet-snapshot"}"#)
            started = true
            let begun = clock.now
            var relaxed = false
            // When the last answer that QEMU was still copying was asked: the guest stopped after it.
            var stillRunning = clock.now
            while true {
                let asked = clock.now
                let state = try await qmp("query-migrate")
                let status = state["status"] as? String ?? ""
                if status == "completed" {
                    if let overlay { try copy(overlay, to: folder + "/disk.qcow2") }
                    try await hypervisor.resumeDomain(name: domain)
                    let downtime = Forensics.integer(state["downtime"]) ?? 0
                    _ = try? await qmp("migrate-set-parameters", restore)
                    // From the last question that found QEMU still copying to the resume.
                    return Frozen(pausedMS: milliseconds(clock.now - stillRunning), downtimeMS: downtime)
                }
                stillRunning = asked
                // The stream may not outgrow the memory: the space was measured for that.
                let ram = state["ram"] as? [String: Any] ?? [:]
                if let sent = Forensics.integer(ram["transferred"]), let total = Forensics.integer(ram["total"]), total > 0, sent > total + (64 << 20) {
                    throw Failure(description: "\(host) changes its memory faster than it can be copied (\(ByteCount.text(UInt64(sent))) sent "
                        + "for \(ByteCount.text(UInt64(total)))): nothing was kept; take it with --method pause")
                }
                if cancellation.isCancelled { throw Failure(description: "interrupted: the snapshot of \(host) was given up, \(host) runs on") }
                if ["failed", "cancelled"].contains(status) {
                    throw Failure(description: "QEMU could not copy the memory of \(host): \(state["error-desc"] as? String ?? status)")
                }
                let elapsed = clock.now - begun
                if elapsed > .seconds(liveGiveUpSeconds) {
                    throw Failure(description: "\(host) changes its memory faster than it can be copied (\(liveGiveUpSeconds) s): "
                        + "nothing was kept; take it with --method pause")
                }
                if !relaxed, elapsed > .seconds(20) {
                    // A busy guest: a longer stop rather than none.
                    relaxed = true
                    _ = try? await qmp("migrate-set-parameters", #"{"downtime-limit":500}"#)
                }
                try await Task.sleep(nanoseconds: 5_000_000)
            }
        } catch {
            if started { _ = try? await qmp("migrate_cancel") }
            // QEMU keeps a descriptor it was given until a migration uses it, or it is closed.
            if handedOver, !started { _ = try? await qmp("closefd", #"{"fdname":"decoynet-snapshot"}"#) }
            // A cancelled migration ends in a moment: the guest may stop at its very end.
            try? await Task.sleep(nanoseconds: 100_000_000)
            if (try? await hypervisor.domainState(name: domain)) == .paused { try? await hypervisor.resumeDomain(name: domain) }
            _ = try? await qmp("migrate-set-parameters", restore)
            throw error
        }
    }

    /// The longest stop QEMU may make of a live snapshot at first (ms), and when it gives up (s).
    static let liveDowntimeLimitMS = 20
    static let liveGiveUpSeconds = 120

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
        do {
            try run("/bin/cp", ["--sparse=always", "--reflink=auto", "--", source, destination])
        } catch {
            throw Failure(description: "cannot copy \(source): \(error)")
        }
    }

    /// Runs a tool to its end; throws with what it wrote on stderr when it fails.
    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\((tool as NSString).lastPathComponent) failed: \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
