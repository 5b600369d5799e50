import Engine
import Foundation
import HTTPTypes

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
        var used: UInt64
        /// nil: no limit.
        var quota: UInt64?
    }

    var environment: Measure
    /// The user who owns the environment (its student for a copy), over all they own.
    var owner: Measure
    var ownerName: String?
    var retentionDays: Int?

    /// Every quota in words, for the pages.
    var lines: [String] {
        func text(_ measure: Measure) -> String {
            ByteCount.text(measure.used) + " of " + (measure.quota.map(ByteCount.text) ?? "no limit")
        }
        var lines = ["this environment: " + text(environment)]
        if let ownerName { lines.append("everything \(ownerName) owns: " + text(owner)) }
        lines.append(retentionDays.map { "folders are removed \($0) days after their reset" } ?? "folders are kept until removed")
        return lines
    }
}

enum EvidenceQuota {
    /// Who owns `record` for the per-user quota: its student, or else who created it.
    static func owner(of record: EnvironmentRecord) -> Int64? { record.studentID ?? record.createdBy }

    static func usage(_ record: EnvironmentRecord, state: ServerState) throws -> EvidenceUsage {
        let policy = state.evidencePolicy
        // Every folder's files walked once: the environment's bytes and its owner's from one listing.
        let folders = EvidenceStore.folders(in: state.evidenceDirectory)
        let used = folders.filter { $0.environment == record.name }.reduce(0) { $0 + $1.bytes }
        var ownerUsed: UInt64 = 0
        var ownerName: String?
        if let owner = owner(of: record) {
            ownerName = try state.store.user(id: owner)?.name
            let owned = Set(try state.store.environments().filter { Self.owner(of: $0) == owner }.map(\.name))
            ownerUsed = folders.filter { owned.contains($0.environment) }.reduce(0) { $0 + $1.bytes }
        }
        return EvidenceUsage(environment: .init(used: used, quota: policy.perEnvironment), owner: .init(used: ownerUsed, quota: policy.perUser),
                             ownerName: ownerName, retentionDays: policy.retentionDays)
    }

    /// Refuses (507) a reset of `hosts` with evidence that would take `record` or its owner past a
    /// quota; asked before the job is queued and again as it starts, before any host stops.
    static func check(_ record: EnvironmentRecord, hosts: [String], memory: Bool, state: ServerState) async throws {
        let policy = state.evidencePolicy
        guard policy.perEnvironment != nil || policy.perUser != nil else { return }
        // An environment not deployed, or a host it does not have: the reset's own failure says so.
        guard let estimate = try? await state.operations.evidenceEstimate(record.name, hosts: hosts, memory: memory) else { return }
        let usage = try usage(record, state: state)
        let advice = "nothing was stopped: remove old evidence (an instructor can, on the evidence page), or reset without keeping evidence"
        if let quota = usage.environment.quota, usage.environment.used + estimate > quota {
            throw ServerError(status: insufficientStorage, message: "this reset's evidence (about \(ByteCount.text(estimate))) would take \(record.name)'s evidence "
                + "to \(ByteCount.text(usage.environment.used + estimate)), beyond its quota of \(ByteCount.text(quota)); " + advice)
        }
        if let quota = usage.owner.quota, let name = usage.ownerName, usage.owner.used + estimate > quota {
            throw ServerError(status: insufficientStorage, message: "this reset's evidence (about \(ByteCount.text(estimate))) would take the evidence of everything \(name) owns "
                + "to \(ByteCount.text(usage.owner.used + estimate)), beyond the quota of \(ByteCount.text(quota)) per user; " + advice)
        }
    }

    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")

    /// Removes the folders past the retention; what it removed, by name.
    @discardableResult
    static func applyRetention(state: ServerState, now: Date = Date()) -> [String] {
        guard let days = state.evidencePolicy.retentionDays else { return [] }
        let pruned = EvidenceStore.prune(in: state.evidenceDirectory, before: now.addingTimeInterval(-Double(days) * 86400))
        for folder in pruned.removed {
            state.logger.notice("evidence \(folder.name) removed: older than the \(days) days kept")
        }
        for (folder, problem) in pruned.failed {
            state.logger.error("evidence \(folder.name) is past the \(days) days kept but could not be removed: \(problem)")
        }
        return pruned.removed.map(\.name)
    }
}
