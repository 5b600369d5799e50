import Foundation
import Hypervisor
import LibvirtXML
import Naming

/// A host's clean state, kept when apply has started it and it is healthy (with the others started
/// then, at one moment: `keepTogether`): its memory and devices (libvirt's
/// save image) and its disk (a copy of its overlay, taken while the domain is stopped for the save,
/// so the two agree). `reset` restores it instead of booting: the guest runs on from that moment,
/// with its clock stepped to now and its DHCP lease renewed through its guest agent.
///
/// Kept only for hosts whose guest agent answers (the clock and the lease need it) and only on this
/// machine's QEMU; a state is used only while the domain's digest is the one it was kept for.
public struct CleanState: Sendable {
    public var hypervisor: any Hypervisor
    public var root: String
    /// Hosts saved (and then run on) at once by `keepTogether`: each save is CPU (QEMU writes its
    /// stream) as much as I/O, so one per core.
    public var parallel: Int
    /// The bytes promised to saves under way (shared by every copy of this value): free space
    /// does not show them until they are written.
    private let promised = Promised()

    public init(hypervisor: any Hypervisor, root: String = Naming.cleanStateRoot, parallel: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.hypervisor = hypervisor
        self.root = root
        self.parallel = max(1, parallel)
    }

    /// What `state.json` records: the digest of the domain the state belongs to, and when it was kept.
    public struct Record: Codable, Sendable, Equatable {
        public var digest: String
        public var kept: Date
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public func folder(environment: String, host: String) -> String { root + "/" + environment + "/" + host }

    /// The state kept for this host, when its files are there and it was kept for `digest`.
    public func usable(environment: String, host: String, digest: String) -> Record? {
        let folder = folder(environment: environment, host: host)
        guard let data = FileManager.default.contents(atPath: folder + "/state.json"),
              let record = try? JSONRecords.decoder.decode(Record.self, from: data), record.digest == digest,
              FileManager.default.fileExists(atPath: folder + "/memory.save"), FileManager.default.fileExists(atPath: folder + "/overlay.qcow2")
        else { return nil }
        return record
    }

    /// What keeping a state came to, and whether the host is still the one that was healthy.
    public enum KeepOutcome: Sendable, Equatable {
        /// Kept; the host runs on from the saved moment.
        case kept
        /// Not kept; the host runs on as it was (never stopped, or resumed from its own save).
        case notKept(String)
        /// Not kept, and the host had to be started again from its disk: its health must be checked again.
        case rebooted(String)
    }

    /// Keeps the running host's state: saves the domain (it stops for the save, about a second per
    /// 100 MiB of guest memory here), copies its overlay and restores it at once, its clock then
    /// stepped to now.
    public func keep(domain: String, metadata: DomainMetadata, overlay: String) async -> KeepOutcome {
        await keepTogether([Member(domain: domain, metadata: metadata, overlay: overlay)])[domain] ?? .notKept("not kept")
    }

    /// A host whose state is kept with others'.
    public struct Member: Sendable {
        public var domain: String
        public var metadata: DomainMetadata
        public var overlay: String

        public init(domain: String, metadata: DomainMetadata, overlay: String) {
            self.domain = domain
            self.metadata = metadata
            self.overlay = overlay
        }
    }

    /// Keeps the states of `members` as of one moment: every one is paused first, then in boot
    /// order (the directory before the machines that ask it), `parallel` at a time, each is saved,
    /// its overlay copied, and it runs on again from its save, its clock stepped to now. So
    /// machine accounts, tickets and clocks agree when the whole environment is reset. Each stands
    /// still from the first pause to its own restore.
    public func keepTogether(_ members: [Member]) async -> [String: KeepOutcome] {
        var outcomes: [String: KeepOutcome] = [:]
        var paused: [Member] = []
        for member in members.sorted(by: { ($0.metadata.bootOrder, $0.domain) < ($1.metadata.bootOrder, $1.domain) }) {
            do {
                try await hypervisor.suspendDomain(name: member.domain)
                paused.append(member)
            } catch {
                outcomes[member.domain] = .notKept("cannot pause it: \(error)")
            }
        }
        // All stand still from the same moment, so the saves agree in whatever order they are made.
        let kept = Date()
        let gate = BootGate(slots: parallel)
        await withTaskGroup(of: (String, KeepOutcome).self) { group in
            for member in paused {
                await gate.acquire()
                group.addTask {
                    let outcome: KeepOutcome
                    if let notKept = await stage(member, kept: kept) { outcome = notKept } else { outcome = await commit(member) }
                    await gate.release()
                    return (member.domain, outcome)
                }
            }
            for await (domain, outcome) in group { outcomes[domain] = outcome }
        }
        return outcomes
    }

    private func staging(_ member: Member) -> String { folder(environment: member.metadata.environment, host: member.metadata.host) + ".new" }

    /// Saves a paused member and copies its overlay into its staging folder; nil when both are
    /// there (the domain is then stopped), else what became of it (running again or booted).
    private func stage(_ member: Member, kept: Date) async -> KeepOutcome? {
        let fileManager = FileManager.default
        let staging = staging(member)
        func runOn(_ reason: String) async -> KeepOutcome {
            try? fileManager.removeItem(atPath: staging)
            if (try? await hypervisor.domainState(name: member.domain)) == .paused, (try? await hypervisor.resumeDomain(name: member.domain)) != nil {
                try? await wake(domain: member.domain)
                return .notKept(reason)
            }
            try? await hypervisor.startDomain(name: member.domain)
            return .rebooted(reason)
        }
        guard let definition = try? await hypervisor.domainXML(name: member.domain) else { return await runOn("cannot read its definition") }
        try? fileManager.removeItem(atPath: staging)
        do {
            try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            return await runOn("cannot make \(staging): \(error)")
        }
        // The save is at most the guest's memory, the copy at most the overlay; 1 GiB stays free.
        let overlayBytes = ((try? fileManager.attributesOfItem(atPath: member.overlay))?[.size] as? NSNumber)?.uint64Value ?? 0
        let needed = EvidenceSpace.memoryBytes(definition: definition) + overlayBytes + (1 << 30)
        let free = ((try? fileManager.attributesOfFileSystem(forPath: staging))?[.systemFreeSize] as? NSNumber)?.uint64Value ?? .max
        let promise = needed - (1 << 30)
        if let others = await promised.take(promise, free: free, needed: needed) {
            return await runOn("\(root) has \(ByteCount.text(free)) free\(others > 0 ? " (\(ByteCount.text(others)) of it promised to saves under way)" : "") and the state needs about \(ByteCount.text(needed))")
        }
        // The promise holds until the save and the copy are written (they then show in free space).
        func saveAndCopy() async -> KeepOutcome? {
            do {
                try await hypervisor.saveDomain(name: member.domain, to: staging + "/memory.save")
            } catch {
                // A save that failed after QEMU stopped leaves the domain off: it runs again, from its disk.
                return await runOn("the save failed: \(error)")
            }
            do {
                try Snapshotter.copy(member.overlay, to: staging + "/overlay.qcow2")
                try JSONRecords.encoder.encode(Record(digest: member.metadata.digest, kept: kept)).write(to: URL(fileURLWithPath: staging + "/state.json"))
            } catch {
                if (try? await hypervisor.restoreDomain(from: staging + "/memory.save")) != nil {
                    try? await running(member.domain)
                    try? fileManager.removeItem(atPath: staging)
                    try? await wake(domain: member.domain)
                    return .notKept("cannot keep its disk: \(error)")
                }
                try? fileManager.removeItem(atPath: staging)
                try? await hypervisor.startDomain(name: member.domain)
                return .rebooted("cannot keep its disk: \(error)")
            }
            return nil
        }
        let outcome = await saveAndCopy()
        await promised.give(promise)
        return outcome
    }

    /// Puts a staged state in place and runs the member on from it, its clock stepped to now.
    private func commit(_ member: Member) async -> KeepOutcome {
        let fileManager = FileManager.default
        let folder = folder(environment: member.metadata.environment, host: member.metadata.host)
        do {
            try? fileManager.removeItem(atPath: folder)
            try fileManager.moveItem(atPath: staging(member), toPath: folder)
            try await hypervisor.restoreDomain(from: folder + "/memory.save")
            try await running(member.domain)
        } catch {
            try? fileManager.removeItem(atPath: staging(member))
            try? fileManager.removeItem(atPath: folder)
            if (try? await hypervisor.domainState(name: member.domain)) ?? .shutoff != .shutoff { try? await hypervisor.stopDomain(name: member.domain) }
            try? await hypervisor.startDomain(name: member.domain)
            return .rebooted("its saved state did not restore: \(error)")
        }
        // It stood still for the save and the copy: its clock is that much behind.
        try? await wake(domain: member.domain)
        return .kept
    }

    /// A domain saved while paused comes back paused: it runs on.
    private func running(_ domain: String) async throws {
        if (try? await hypervisor.domainState(name: domain)) == .paused { try await hypervisor.resumeDomain(name: domain) }
    }

    /// Why a restore failed: `damaged` when the kept state itself would not restore (it is of no
    /// further use), else the guest did not wake (the state may serve the next reset).
    public struct RestoreFailure: Error, CustomStringConvertible {
        public var description: String
        public var damaged: Bool
    }

    /// Writes the kept disk over `overlay` (a fresh volume the caller made, the domain stopped) and
    /// starts the domain from the kept memory; then steps its clock to now and renews its leases.
    /// Throws, with the domain stopped, when it cannot; the caller makes the overlay fresh again.
    public func restore(domain: String, metadata: DomainMetadata, overlay: String) async throws {
        let folder = folder(environment: metadata.environment, host: metadata.host)
        do {
            try Snapshotter.copy(folder + "/overlay.qcow2", to: overlay)
            try await hypervisor.restoreDomain(from: folder + "/memory.save")
            try await running(domain)
        } catch {
            if (try? await hypervisor.domainState(name: domain)) ?? .shutoff != .shutoff { try? await hypervisor.stopDomain(name: domain) }
            throw RestoreFailure(description: "\(error)", damaged: true)
        }
        do {
            try await wake(domain: domain)
        } catch {
            if (try? await hypervisor.domainState(name: domain)) ?? .shutoff != .shutoff { try? await hypervisor.stopDomain(name: domain) }
            throw RestoreFailure(description: "\(error)", damaged: false)
        }
    }

    /// A restored guest's clock stands where it was saved and its lease was given then: the agent
    /// steps the clock to now (Kerberos allows 5 minutes of skew) and asks the DHCP client for a
    /// renewal (udhcpc on the light PCs, systemd-networkd on servers).
    ///
    /// Waits up to `within` seconds for it: the agent needs a moment after the restore before it
    /// reads its channel again, and under load (many guests restored at once on few cores) the
    /// step itself can take seconds. A command still running is waited for, not started again.
    func wake(domain: String, within: Double = CleanState.wakeSeconds) async throws {
        let exec = GuestExec(hypervisor: hypervisor)
        let deadline = Date().addingTimeInterval(within)
        var lastError: (any Error)?
        // The time of this very try: a late answer must not set a clock in the past.
        func script() -> String {
            "date -u -s @\(String(format: "%.3f", Date().timeIntervalSince1970)) >/dev/null || exit 3; "
                + "pkill -USR1 udhcpc 2>/dev/null; "
                + "if command -v networkctl >/dev/null; then networkctl renew $(ls /sys/class/net | grep -vx lo) 2>/dev/null; fi; exit 0"
        }
        repeat {
            let sent = Date()
            do {
                let result = try await exec.run(domain: domain, arguments: ["/bin/sh", "-c", script()], timeout: max(10, deadline.timeIntervalSinceNow))
                if result.exitCode == 0 {
                    // A step that took long may have set a time already past: once more, now the agent is quick.
                    if Date().timeIntervalSince(sent) > 5 { _ = try? await exec.run(domain: domain, arguments: ["/bin/sh", "-c", script()], timeout: 10) }
                    return
                }
                lastError = Failure(description: result.timedOut
                    ? "the guest did not finish setting its clock within \(Int(within)) s of its restore"
                    : "the guest could not set its clock (exit \(result.exitCode))")
                if !result.timedOut { break }
            } catch {
                lastError = error
                // No agent at all (none configured, or a driver without agents): waiting cannot help.
                let text = "\(error)"
                if text.contains("not supported") || text.contains("not configured") { break }
            }
            try await Task.sleep(nanoseconds: 500_000_000)
        } while Date() < deadline
        throw lastError ?? Failure(description: "the guest agent did not answer within \(Int(within)) s of the restore")
    }

    /// How long a restored guest's agent may take to step its clock.
    public static let wakeSeconds = 120.0

    /// Removes every state kept for `environment`.
    public func remove(environment: String) {
        try? FileManager.default.removeItem(atPath: root + "/" + environment)
    }

    /// Removes the state kept for one host (its domain was replaced or removed).
    public func remove(environment: String, host: String) {
        try? FileManager.default.removeItem(atPath: folder(environment: environment, host: host))
    }
}

/// Bytes promised to saves under way.
private actor Promised {
    private var bytes: UInt64 = 0

    /// Promises `promise` when `free` less what is promised already leaves `needed`; else returns
    /// the bytes promised to others.
    func take(_ promise: UInt64, free: UInt64, needed: UInt64) -> UInt64? {
        guard free >= bytes, free - bytes >= needed else { return bytes }
        bytes += promise
        return nil
    }

    func give(_ promise: UInt64) { bytes -= min(bytes, promise) }
}
