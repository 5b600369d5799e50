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

    typealias Pending = (environment: UInt64, owner: UInt64)

    /// A claim admitted; `end` (once the reset or snapshot ended, its files on disk) lets it go.
    final class Reservation: Sendable {
        private let release: @Sendable () -> Void
        init(_ release: @escaping @Sendable () -> Void) { self.release = release }
        func end() { release() }
        deinit { release() }
    }

    private struct Book {
        var claims: [UUID: Claim] = [:]
        /// Counts the claims ended: a walk of the disk made before the last end may have missed
        /// the files of the claim that ended.
        var ended: UInt64 = 0
    }

    private let book = Mutex(Book())

    /// Walks of the disk made again, at most, when claims keep ending during them; the last is
    /// checked as it is.
    static let walks = 8

    /// Bytes claimed and not yet released: by `environment`, and by environments `owner` owns.
    func pending(environment: String, owner: Int64?) -> Pending {
        book.withLock { Self.pending(in: $0.claims, environment: environment, owner: owner) }
    }

    private static func pending(in claims: [UUID: Claim], environment: String, owner: Int64?) -> Pending {
        var forEnvironment: UInt64 = 0, forOwner: UInt64 = 0
        for claim in claims.values {
            if claim.environment == environment { forEnvironment += claim.bytes }
            if let owner, claim.owner == owner { forOwner += claim.bytes }
        }
        return (forEnvironment, forOwner)
    }

    /// Admits `claim` if `check` passes on what `measure` found on disk and what other claims
    /// hold (by its environment, by its owner). `measure` walks the disk outside the lock, so that
    /// the server's other requests never wait for a walk; `check` and the claim's record are under
    /// it, so no two claims are admitted on the same room. A claim that ended during the walk (its
    /// files landed after the walk passed them) makes the walk start again.
    func admit<Measured>(_ claim: Claim, measure: () throws -> Measured, check: (Measured, Pending) throws -> Void) throws -> Reservation {
        let id = UUID()
        for walk in 1 ... Self.walks {
            let before = book.withLock { $0.ended }
            let measured = try measure()
            let admitted = try book.withLock { (book: inout Book) throws -> Bool in
                guard book.ended == before || walk == Self.walks else { return false }
                try check(measured, Self.pending(in: book.claims, environment: claim.environment, owner: claim.owner))
                book.claims[id] = claim
                return true
            }
            if admitted { break }
        }
        let once = Mutex(false)
        return Reservation { [weak self] in
            guard once.withLock({ ended in defer { ended = true }; return !ended }) else { return }
            self?.book.withLock { book in
                if book.claims.removeValue(forKey: id) != nil { book.ended += 1 }
            }
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

    /// What is on disk for `record` and its owner (one walk of the evidence and snapshots), before
    /// what jobs under way are writing is added.
    struct Kept {
        var environment: UInt64
        var snapshots: UInt64
        var owner: UInt64
        var ownerName: String?
        var retired: UInt64
    }

    /// `retired`: also what earlier students kept (for the pages: it counts against no quota).
    static func kept(_ record: EnvironmentRecord, state: ServerState, retired: Bool) throws -> Kept {
        // Every folder's files walked once: the environment's bytes and its owner's from one listing.
        var bytes = snapshotBytes(state: state)
        let snapshots = bytes[record.name] ?? 0
        for folder in EvidenceStore.folders(in: state.evidenceDirectory) { bytes[folder.environment, default: 0] += folder.bytes }
        var owned: UInt64 = 0
        var ownerName: String?
        if let owner = owner(of: record) {
            ownerName = try state.store.user(id: owner)?.name
            owned = Set(try state.store.environments().filter { Self.owner(of: $0) == owner }.map(\.name)).reduce(0) { $0 + (bytes[$1] ?? 0) }
        }
        let retiredBytes = !retired ? 0 : [state.evidenceDirectory, state.snapshotsDirectory].flatMap { EvidenceStore.retired(in: $0) }
            .filter { $0.environment == record.name }.reduce(0) { $0 + $1.bytes }
        return Kept(environment: bytes[record.name] ?? 0, snapshots: snapshots, owner: owned, ownerName: ownerName, retired: retiredBytes)
    }

    static func usage(_ record: EnvironmentRecord, state: ServerState) throws -> EvidenceUsage {
        usage(try kept(record, state: state, retired: true), pending: state.ledger.pending(environment: record.name, owner: owner(of: record)), state: state)
    }

    /// The usage: what is kept, with `pending` bytes of resets and snapshots under way added.
    static func usage(_ kept: Kept, pending: EvidenceLedger.Pending, state: ServerState) -> EvidenceUsage {
        let policy = state.evidencePolicy
        return EvidenceUsage(environment: .init(used: kept.environment + pending.environment, quota: policy.perEnvironment),
                             owner: .init(used: kept.owner + pending.owner, quota: policy.perUser), ownerName: kept.ownerName,
                             retentionDays: policy.retentionDays, snapshots: kept.snapshots, retired: kept.retired)
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
        let memory: Bool, what: String, advice: String, isSnapshot: Bool
        switch keeping {
        case let .reset(keepsMemory):
            (memory, what, isSnapshot) = (keepsMemory, "this reset's evidence", false)
            advice = "nothing was stopped: remove old evidence or snapshots (an instructor can, on the evidence page), or reset without keeping evidence"
        case .snapshot:
            (memory, what, isSnapshot) = (true, "this snapshot", true)
            advice = "nothing was paused: remove old evidence or snapshots (an instructor can, on the evidence page and the host's)"
        }
        // An environment not deployed, or a host it does not have: the job's own failure says so.
        let operations = state.operations
        guard let estimate = try? await (isSnapshot ? operations.snapshotEstimate(record.name, hosts: hosts)
                                                    : operations.evidenceEstimate(record.name, hosts: hosts, memory: memory)) else { return nil }
        let claim = EvidenceLedger.Claim(environment: record.name, owner: owner(of: record), bytes: estimate)
        return try state.ledger.admit(claim, measure: { try kept(record, state: state, retired: false) }) { kept, pending in
            let usage = usage(kept, pending: pending, state: state)
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
