import Foundation
@testable import Server
import Testing

/// The evidence that resets and snapshots under way are writing, held against the quotas: claims
/// that start together are admitted only as far as the room goes, whoever's environment they are.
@Suite struct EvidenceLedgerTests {
    /// A quota check as `EvidenceQuota.admit` makes it: `used` on disk, plus what is pending, plus
    /// the claim, within `quota` for the owner. It takes a while (a walk of the evidence folder
    /// does), so claims checked outside one lock would all see the same room.
    func check(used: UInt64, quota: UInt64, claim: UInt64) -> ((environment: UInt64, owner: UInt64)) throws -> Void {
        { pending in
            Thread.sleep(forTimeInterval: 0.01)
            if used + pending.owner + claim > quota { throw ServerError(status: EvidenceQuota.insufficientStorage, message: "past the quota") }
        }
    }

    @Test func claimsStartedTogetherAreAdmittedOnlyAsFarAsTheRoomGoes() async throws {
        let ledger = EvidenceLedger()
        // 5 MiB kept, 8 MiB allowed, ten resets of 1 MiB each at once over two copies of one owner:
        // each fits alone, three fit together.
        let admitted = await withTaskGroup(of: EvidenceLedger.Reservation?.self) { group in
            for index in 0 ..< 10 {
                group.addTask {
                    let claim = EvidenceLedger.Claim(environment: "copy-\(index % 2)", owner: 7, bytes: 1 << 20)
                    return try? ledger.admit(claim, check: check(used: 5 << 20, quota: 8 << 20, claim: 1 << 20))
                }
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
        #expect(throws: Never.self) { try ledger.admit(.init(environment: "other", owner: 8, bytes: 1 << 20), check: check(used: 5 << 20, quota: 8 << 20, claim: 1 << 20)) }
        // The room comes back as a reset ends, once: ending it again frees nothing more.
        let ended = try #require(admitted.first)
        ended.end()
        ended.end()
        #expect(ledger.pending(environment: "copy-0", owner: 7).owner == 2 << 20)
        let next = try ledger.admit(.init(environment: "copy-0", owner: 7, bytes: 1 << 20), check: check(used: 5 << 20, quota: 8 << 20, claim: 1 << 20))
        #expect(throws: ServerError.self) { try ledger.admit(.init(environment: "copy-1", owner: 7, bytes: 1 << 20), check: check(used: 5 << 20, quota: 8 << 20, claim: 1 << 20)) }
        withExtendedLifetime((admitted, next)) {}
    }

    @Test func aReservationNobodyEndsIsLetGoWithTheJob() throws {
        let ledger = EvidenceLedger()
        do {
            let reservation = try ledger.admit(.init(environment: "lab", owner: nil, bytes: 4 << 20)) { _ in }
            #expect(ledger.pending(environment: "lab", owner: nil).environment == 4 << 20)
            withExtendedLifetime(reservation) {}
        }
        #expect(ledger.pending(environment: "lab", owner: nil).environment == 0, "a job that threw past its end still lets go")
    }
}
