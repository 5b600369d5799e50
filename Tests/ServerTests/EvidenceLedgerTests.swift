import Foundation
@testable import Server
import Testing

/// The evidence that resets and snapshots under way are writing, held against the quotas: claims
/// that start together are admitted only as far as the room goes, whoever's environment they are.
@Suite struct EvidenceLedgerTests {
    /// Admits `bytes` for `environment` of `owner` as `EvidenceQuota.admit` does: `used` found on
    /// disk by a walk that takes a while, plus what is pending, plus the claim, within `quota` for
    /// the owner. Claims checked outside one lock would all see the same room.
    @discardableResult
    func admit(_ ledger: EvidenceLedger, _ environment: String, owner: Int64, bytes: UInt64 = 1 << 20, used: UInt64 = 5 << 20,
               quota: UInt64 = 8 << 20) throws -> EvidenceLedger.Reservation {
        try ledger.admit(.init(environment: environment, owner: owner, bytes: bytes), measure: { () -> UInt64 in
            Thread.sleep(forTimeInterval: 0.01)
            return used
        }) { used, pending in
            if used + pending.owner + bytes > quota { throw ServerError(status: EvidenceQuota.insufficientStorage, message: "past the quota") }
        }
    }

    @Test func claimsStartedTogetherAreAdmittedOnlyAsFarAsTheRoomGoes() async throws {
        let ledger = EvidenceLedger()
        // 5 MiB kept, 8 MiB allowed, ten resets of 1 MiB each at once over two copies of one owner:
        // each fits alone, three fit together.
        let admitted = await withTaskGroup(of: EvidenceLedger.Reservation?.self) { group in
            for index in 0 ..< 10 {
                group.addTask { try? admit(ledger, "copy-\(index % 2)", owner: 7) }
            }
            var admitted: [EvidenceLedger.Reservation] = []
            for await reservation in group { if let reservation { admitted.append(reservation) } }
            return admitted
        }
        #expect(admitted.count == 3)
        #expect(ledger.pending(environment: "copy-0", owner: 7).owner == 3 << 20)
        let first = ledger.pending(environment: "copy-0", owner: 7).environment, second = ledger.pending(environment: "copy-1", owner: 7).environment
        #expect(first + second == 3 << 20, "each environment holds its own claims")

        // Another owner's claim is not held back by these.
        #expect(throws: Never.self) { try admit(ledger, "other", owner: 8) }
        // The room comes back as a reset ends, once: ending it again frees nothing more.
        let ended = try #require(admitted.first)
        ended.end()
        ended.end()
        #expect(ledger.pending(environment: "copy-0", owner: 7).owner == 2 << 20)
        let next = try admit(ledger, "copy-0", owner: 7)
        #expect(throws: ServerError.self) { try admit(ledger, "copy-1", owner: 7) }
        withExtendedLifetime((admitted, next)) {}
    }

    @Test func aClaimThatEndsDuringTheWalkMakesTheWalkStartAgain() throws {
        // 7 MiB held by a reset under way; it ends while the next claim's walk is under way, its
        // 7 MiB now on disk where that walk had already passed. The walk that counts is the next.
        let ledger = EvidenceLedger()
        let running = try admit(ledger, "lab", owner: 1, bytes: 7 << 20, used: 0)
        var walks: [UInt64] = []
        #expect(throws: ServerError.self) {
            try ledger.admit(.init(environment: "lab", owner: 1, bytes: 2 << 20), measure: { () -> UInt64 in
                walks.append(walks.isEmpty ? 0 : 7 << 20)
                if walks.count == 1 { running.end() }
                return walks.last!
            }) { used, pending in
                if used + pending.owner + (2 << 20) > 8 << 20 { throw ServerError(status: EvidenceQuota.insufficientStorage, message: "past the quota") }
            }
        }
        #expect(walks == [0, 7 << 20], "the first walk missed what the ended reset wrote")
    }

    @Test func aReservationNobodyEndsIsLetGoWithTheJob() throws {
        let ledger = EvidenceLedger()
        do {
            let reservation = try ledger.admit(.init(environment: "lab", owner: nil, bytes: 4 << 20), measure: {}) { _, _ in }
            #expect(ledger.pending(environment: "lab", owner: nil).environment == 4 << 20)
            withExtendedLifetime(reservation) {}
        }
        #expect(ledger.pending(environment: "lab", owner: nil).environment == 0, "a job that threw past its end still lets go")
    }
}
