import Engine
import Foundation
import HTTPTypes
import Synchronization

/// How much evidence the server keeps: a quota per environment, one per user over the
/// environments they own (a student's copies; what anyone else created and gave nobody), and how
/// long a folder is kept. A reset with evidence that would pass a quota is refused before anything
/// stops: a disk filled by one student's resets would pause every guest on it.
public struct EvidencePolicy: Sendable, Codable, Equatable {
    /// Bytes one environment's evidence may take; nil: no limit.
    public var perEnvironment: UInt64?
    /// Bytes the evidence of all the environments one user owns may take; nil: no limit.
    public var perUser: UInt64?
    /// Days a folder is kept; older ones are removed (on start, then hourly). nil: until removed.
    public var retentionDays: Int?

    public static let defaultPerEnvironment: UInt64 = 20 << 30
    public static let defaultPerUser: UInt64 = 40 << 30

    public init(perEnvironment: UInt64? = EvidencePolicy.defaultPerEnvironment, perUser: UInt64? = EvidencePolicy.defaultPerUser,
                retentionDays: Int? = nil) {
        self.perEnvironment = perEnvironment
        self.perUser = perUser
        self.retentionDays = retentionDays
    }
}

/// One environment's evidence against the server's quotas, as the API and pages show it.
struct EvidenceUsage: Codable, Sendable {
    struct Measure: Codable, Sendable {
        /// Reset evidence and snapshots, on disk and being written by resets and snapshots under way.
        var used: UInt64
        /// nil: no limit.
        var quota: UInt64?
    }

    var environment: Measure
    /// The user who owns the environment (its student for a copy), over all they own.
    var owner: Measure
    var ownerName: String?
    var retentionDays: Int?
    /// Of `environment.used`, what its snapshots take.
    var snapshots: UInt64
    /// What earlier students of this copy kept, retired when it was given to a new one: counted
    /// against nobody's quota, removed by the retention.
    var retired: UInt64

    /// Every quota in words, for the pages.
    var lines: [String] {
        func text(_ measure: Measure) -> String {
            ByteCount.text(measure.used) + " of " + (measure.quota.map(ByteCount.text) ?? "no limit")
        }
        var lines = ["this environment: " + text(environment) + (snapshots > 0 ? " (snapshots \(ByteCount.text(snapshots)))" : "")]
        if let ownerName { lines.append("everything \(ownerName) owns: " + text(owner)) }
        if retired > 0 { lines.append("retired from earlier students: \(ByteCount.text(retired)) (no one's quota)") }
        lines.append(retentionDays.map { "folders are removed \($0) days after their reset or snapshot" } ?? "folders are kept until removed")
        return lines
    }
}

/// Evidence that resets and snapshots under way are about to write, held against the quotas from
/// the moment they are admitted until they end: two resets of one student's copies that start
/// together cannot both pass a quota that only one of them fits in.
final class EvidenceLedger: Sendable {
    struct Claim: Sendable {
        var environment: String
        var owner: Int64?
        var bytes: UInt64
    }

    /// A claim admitted; `release` (once the reset or snapshot ended, its files on disk) lets it go.
    final class Reservation: Sendable {
        private let release: @Sendable () -> Void
        init(_ release: @escaping @Sendable () -> Void) { self.release = release }
        func end() { release() }
        deinit { release() }
    }

    private let claims = Mutex<[UUID: Claim]>([:])

    /// Bytes claimed and not yet released: by `environment`, and by environments `owner` owns.
    func pending(environment: String, owner: Int64?) -> (environment: UInt64, owner: UInt64) {
        claims.withLock { Self.pending(in: $0, environment: environment, owner: owner) }
    }

    private static func pending(in claims: [UUID: Claim], environment: String, owner: Int64?) -> (environment: UInt64, owner: UInt64) {
        var forEnvironment: UInt64 = 0, forOwner: UInt64 = 0
        for claim in claims.values {
            if claim.environment == environment { forEnvironment += claim.bytes }
            if let owner, claim.owner == owner { forOwner += claim.bytes }
        }
        return (forEnvironment, forOwner)
    }

    /// Admits `claim` if `check` passes given what other claims hold (by its environment, by its
    /// owner); asked and recorded under one lock, so no two claims are admitted on the same room.
    func admit(_ claim: Claim, check: (_ pending: (environment: UInt64, owner: UInt64)) throws -> Void) throws -> Reservation {
        let id = UUID()
        try claims.withLock { (claims: inout [UUID: Claim]) throws -> Void in
            try check(Self.pending(in: claims, environment: claim.environment, owner: claim.owner))
            claims[id] = claim
        }
        let once = Mutex(false)
        return Reservation { [weak self] in
            guard once.withLock({ ended in defer { ended = true }; return !ended }) else { return }
            _ = self?.claims.withLock { $0.removeValue(forKey: id) }
        }
    }
}

enum EvidenceQuota {
    /// Who owns `record` for the per-user quota: its student, or else who created it.
    static func owner(of record: EnvironmentRecord) -> Int64? { record.studentID ?? record.createdBy }

    /// Bytes of every snapshot kept through the server, by environment (its snapshot.json names it).
    static func snapshotBytes(state: ServerState) -> [String: UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.snapshotsDirectory)) ?? []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var bytes: [String: UInt64] = [:]
        for name in names {
            let folder = state.snapshotsDirectory + "/" + name
            guard EvidenceStore.isEvidenceFolder(folder, marker: "snapshot.json"), let data = FileManager.default.contents(atPath: folder + "/snapshot.json"),
                  let record = try? decoder.decode(SnapshotRecord.self, from: data) else { continue }
            bytes[record.environment, default: 0] += EvidenceStore.bytes(of: folder)
        }
        return bytes
    }

    static func usage(_ record: EnvironmentRecord, state: ServerState) throws -> EvidenceUsage {
        try usage(record, state: state, pending: state.ledger.pending(environment: record.name, owner: owner(of: record)))
    }

    /// The usage with `pending` bytes of resets and snapshots under way added.
    static func usage(_ record: EnvironmentRecord, state: ServerState, pending: (environment: UInt64, owner: UInt64)) throws -> EvidenceUsage {
        let policy = state.evidencePolicy
        // Every folder's files walked once: the environment's bytes and its owner's from one listing.
        var kept: [String: UInt64] = snapshotBytes(state: state)
        let snapshots = kept[record.name] ?? 0
        for folder in EvidenceStore.folders(in: state.evidenceDirectory) { kept[folder.environment, default: 0] += folder.bytes }
        let used = (kept[record.name] ?? 0) + pending.environment
        var ownerUsed: UInt64 = 0
        var ownerName: String?
        if let owner = owner(of: record) {
            ownerName = try state.store.user(id: owner)?.name
            let owned = Set(try state.store.environments().filter { Self.owner(of: $0) == owner }.map(\.name))
            ownerUsed = owned.reduce(pending.owner) { $0 + (kept[$1] ?? 0) }
        }
        let retired = [state.evidenceDirectory, state.snapshotsDirectory].flatMap { EvidenceStore.retired(in: $0) }
            .filter { $0.environment == record.name }.reduce(0) { $0 + $1.bytes }
        return EvidenceUsage(environment: .init(used: used, quota: policy.perEnvironment), owner: .init(used: ownerUsed, quota: policy.perUser),
                             ownerName: ownerName, retentionDays: policy.retentionDays, snapshots: snapshots, retired: retired)
    }

    /// What is asked of the quota: a reset's evidence, or a snapshot.
    enum Keeping {
        case reset(memory: Bool)
        case snapshot
    }

    /// Refuses (507) a reset with evidence, or a snapshot, of `hosts` that would take `record` or
    /// its owner past a quota, counting what resets and snapshots under way are writing; else
    /// holds its estimate against the quotas until the reservation ends (nil: no quota to hold
    /// against). Asked before the job is queued (then let go) and again as it starts, before any
    /// host stops or pauses.
    static func admit(_ record: EnvironmentRecord, hosts: [String], keeping: Keeping, state: ServerState) async throws -> EvidenceLedger.Reservation? {
        let policy = state.evidencePolicy
        guard policy.perEnvironment != nil || policy.perUser != nil else { return nil }
        let memory: Bool, what: String, advice: String
        switch keeping {
        case let .reset(keepsMemory):
            (memory, what) = (keepsMemory, "this reset's evidence")
            advice = "nothing was stopped: remove old evidence or snapshots (an instructor can, on the evidence page), or reset without keeping evidence"
        case .snapshot:
            (memory, what) = (true, "this snapshot")
            advice = "nothing was paused: remove old evidence or snapshots (an instructor can, on the evidence page and the host's)"
        }
        // An environment not deployed, or a host it does not have: the job's own failure says so.
        guard let estimate = try? await state.operations.evidenceEstimate(record.name, hosts: hosts, memory: memory) else { return nil }
        let claim = EvidenceLedger.Claim(environment: record.name, owner: owner(of: record), bytes: estimate)
        return try state.ledger.admit(claim) { pending in
            let usage = try usage(record, state: state, pending: pending)
            let under = pending.environment + pending.owner > 0 ? " (with what resets and snapshots under way are writing)" : ""
            if let quota = usage.environment.quota, usage.environment.used + estimate > quota {
                throw ServerError(status: insufficientStorage, message: "\(what) (about \(ByteCount.text(estimate))) would take \(record.name)'s evidence "
                    + "to \(ByteCount.text(usage.environment.used + estimate))\(under), beyond its quota of \(ByteCount.text(quota)); " + advice)
            }
            if let quota = usage.owner.quota, let name = usage.ownerName, usage.owner.used + estimate > quota {
                throw ServerError(status: insufficientStorage, message: "\(what) (about \(ByteCount.text(estimate))) would take the evidence of everything \(name) owns "
                    + "to \(ByteCount.text(usage.owner.used + estimate))\(under), beyond the quota of \(ByteCount.text(quota)) per user; " + advice)
            }
        }
    }

    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")

    /// Removes the reset evidence, snapshots and retired folders past the retention; what it
    /// removed, by name.
    @discardableResult
    static func applyRetention(state: ServerState, now: Date = Date()) -> [String] {
        guard let days = state.evidencePolicy.retentionDays else { return [] }
        let cutoff = now.addingTimeInterval(-Double(days) * 86400)
        var removed: [String] = []
        func report(_ pruned: EvidenceStore.Pruned, _ kind: String) {
            for folder in pruned.removed {
                state.logger.notice("\(kind) \(folder.name) removed: older than the \(days) days kept")
                removed.append(folder.name)
            }
            for (folder, problem) in pruned.failed {
                state.logger.error("\(kind) \(folder.name) is past the \(days) days kept but could not be removed: \(problem)")
            }
        }
        report(EvidenceStore.prune(in: state.evidenceDirectory, before: cutoff), "evidence")
        report(pruneSnapshots(state: state, before: cutoff), "snapshot")
        for directory in [state.evidenceDirectory, state.snapshotsDirectory, state.runsDirectory] {
            report(EvidenceStore.pruneRetired(in: directory, before: cutoff), "retired")
        }
        return removed
    }

    /// Removes the snapshots taken before `date`.
    static func pruneSnapshots(state: ServerState, before date: Date) -> EvidenceStore.Pruned {
        var pruned = EvidenceStore.Pruned()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.snapshotsDirectory)) ?? []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for name in names.sorted() {
            let folder = state.snapshotsDirectory + "/" + name
            guard EvidenceStore.isEvidenceFolder(folder, marker: "snapshot.json"), let data = FileManager.default.contents(atPath: folder + "/snapshot.json"),
                  let record = try? decoder.decode(SnapshotRecord.self, from: data), record.taken < date else { continue }
            let summary = EvidenceStore.Folder(name: name, environment: record.environment, created: record.taken, bytes: 0)
            do {
                try EvidenceStore.remove(folder, marker: "snapshot.json")
                pruned.removed.append(summary)
            } catch {
                pruned.failed.append((summary, "\(error)"))
            }
        }
        return pruned
    }
}
