import Engine
import Foundation
import TestSupport
import Testing

/// Evidence folders as the quotas, retention and `decoynet evidence` see them: what they take on
/// disk, whose they are, when they were made, and a removal that takes nothing else.
@Suite final class EvidenceStoreTests {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-evidence-store-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit {
        // The sealed folders opened again, so that they can go.
        let manager = FileManager.default
        for relative in (try? manager.subpathsOfDirectory(atPath: root)) ?? [] {
            try? manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root + "/" + relative)
        }
        try? manager.removeItem(atPath: root)
    }

    /// A sealed folder as a reset leaves it (folders 0500, files 0400), with `bytes` written out.
    @discardableResult
    func folder(_ name: String, bytes: Int = 4096, manifest: Bool = true) throws -> String {
        let path = root + "/" + name
        try FileManager.default.createDirectory(atPath: path + "/ws-01", withIntermediateDirectories: true)
        try randomBytes(bytes).write(to: URL(fileURLWithPath: path + "/ws-01/overlay.qcow2"))
        if manifest { try Data("{}".utf8).write(to: URL(fileURLWithPath: path + "/manifest.json")) }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path + "/ws-01/overlay.qcow2")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: path + "/ws-01")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: path)
        return path
    }

    @Test func foldersAreTheirEnvironmentsWithTheirTimesAndSizes() throws {
        try folder("lab-20261201T101010Z", bytes: 1 << 20)
        try folder("lab-20261201T101010Z-2")
        try folder("lab-i2-20261130T090000Z", bytes: 3 << 20)
        try folder("lab-notes", manifest: false)
        try folder("lab-notes-2")
        try folder("lab-2-20261201T121212Z")
        try Data().write(to: URL(fileURLWithPath: root + "/lab-20261202T000000Z"))
        let all = EvidenceStore.folders(in: root)
        #expect(all.map(\.name) == ["lab-i2-20261130T090000Z", "lab-20261201T101010Z", "lab-20261201T101010Z-2", "lab-2-20261201T121212Z"],
                "oldest first, only folders named as resets name them, with a manifest")
        #expect(all.map(\.environment) == ["lab-i2", "lab", "lab", "lab-2"], "a copy's folders are the copy's, not its original's")
        #expect(EvidenceFolder.list(in: root, environment: "lab") == ["lab-20261201T101010Z-2", "lab-20261201T101010Z"], "nor lab-2's lab's")
        #expect(all[0].created == Date(timeIntervalSince1970: 1_796_029_200), "\(all[0].created)")
        #expect(all[1].bytes >= 1 << 20 && all[1].bytes < (1 << 20) + 65536, "\(all[1].bytes)")
        #expect(EvidenceStore.folders(in: root, environment: "lab").count == 2)
        #expect(EvidenceStore.usage(in: root, environment: "lab-i2") >= 3 << 20)
        #expect(EvidenceStore.usage(in: root, environment: "la") == 0)
    }

    @Test func aSparseFileCountsWhatItHoldsNotItsLength() throws {
        let path = try folder("sparse-20261201T101010Z")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        let handle = try #require(FileHandle(forWritingAtPath: path + "/manifest.json"))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        #expect(EvidenceStore.bytes(of: path) < 1 << 20)
    }

    @Test func removalTakesASealedFolderAndRefusesAnythingElse() throws {
        let sealed = try folder("lab-20261201T101010Z")
        try EvidenceStore.remove(sealed)
        #expect(!FileManager.default.fileExists(atPath: sealed))

        let notEvidence = try folder("lab-notes", manifest: false)
        #expect(throws: EvidenceStore.Refusal.self) { try EvidenceStore.remove(notEvidence) }
        #expect(FileManager.default.fileExists(atPath: notEvidence + "/ws-01/overlay.qcow2"))

        // A link to evidence is not evidence: removing through it would take what it points at.
        let target = try folder("lab-20261202T101010Z")
        try FileManager.default.createSymbolicLink(atPath: root + "/link-20261203T101010Z", withDestinationPath: target)
        #expect(throws: EvidenceStore.Refusal.self) { try EvidenceStore.remove(root + "/link-20261203T101010Z") }
        #expect(throws: EvidenceStore.Refusal.self, "a trailing slash would make lstat follow it") { try EvidenceStore.remove(root + "/link-20261203T101010Z/") }
        #expect(FileManager.default.fileExists(atPath: target + "/manifest.json"))
        #expect(EvidenceStore.folders(in: root).map(\.name) == ["lab-20261202T101010Z"], "a link is not listed either")
    }

    @Test func pruningRemovesOnlyTheFoldersBeforeTheDate() throws {
        try folder("lab-20261101T000000Z")
        try folder("lab-20261201T000000Z")
        try folder("other-20261101T000000Z")
        let cutoff = Date(timeIntervalSince1970: 1_795_000_000) // 2026-11-18
        let pruned = EvidenceStore.prune(in: root, before: cutoff, environment: "lab")
        #expect(pruned.removed.map(\.name) == ["lab-20261101T000000Z"] && pruned.failed.isEmpty)
        #expect(EvidenceStore.folders(in: root).map(\.name) == ["other-20261101T000000Z", "lab-20261201T000000Z"])
        #expect(EvidenceStore.prune(in: root, before: cutoff).removed.map(\.name) == ["other-20261101T000000Z"])
    }

    @Test func aPoolDiskWithoutTheReserveFreeIsRefusedNamingIt() throws {
        let volume = root + "/pool/ws-01.qcow2"
        try FileManager.default.createDirectory(atPath: root + "/pool", withIntermediateDirectories: true)
        let free = try #require(EvidenceSpace.free(at: root + "/pool"))
        #expect(throws: Never.self) { try Resetter.checkPoolSpace(volumes: [volume], outcome: "nothing was stopped", reserve: free / 2) }
        do {
            try Resetter.checkPoolSpace(volumes: [volume], outcome: "nothing was stopped", reserve: free * 2)
            Issue.record("a disk with less than the reserve free was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains(root + "/pool") && text.contains("nothing was stopped") && text.contains("free"), "\(text)")
        }
        // Another driver's volumes (no such folder here) are not this machine's disk to ask.
        #expect(throws: Never.self) { try Resetter.checkPoolSpace(volumes: ["/default-pool/ws-01.img"], outcome: "", reserve: .max) }
    }

    @Test func whatWasRetiredIsListedByWhenAndPrunedSealedButNeverThroughALink() throws {
        let manager = FileManager.default
        let evidence = root + "/evidence"
        for name in ["lab-20200101T000000Z", "lab-2-2020-01-02T000000Z", "lab-20991231T000000Z", "not-a-stamp"] {
            try manager.createDirectory(atPath: evidence + "/.retired/" + name + "/lab-20191231T000000Z/ws-01", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: evidence + "/.retired/" + name + "/lab-20191231T000000Z/ws-01/overlay.qcow2"))
        }
        // Sealed, as a reset leaves its evidence.
        let sealed = evidence + "/.retired/lab-20200101T000000Z/lab-20191231T000000Z"
        try manager.setAttributes([.posixPermissions: 0o400], ofItemAtPath: sealed + "/ws-01/overlay.qcow2")
        try manager.setAttributes([.posixPermissions: 0o500], ofItemAtPath: sealed + "/ws-01")
        try manager.setAttributes([.posixPermissions: 0o500], ofItemAtPath: sealed)
        let listed = EvidenceStore.retired(in: evidence)
        #expect(listed.map(\.name) == ["lab-20200101T000000Z", "lab-2-2020-01-02T000000Z", "lab-20991231T000000Z"], "the earlier servers' names too")
        #expect(listed.map(\.environment) == ["lab", "lab-2", "lab"])
        #expect(listed.allSatisfy { $0.bytes > 0 })

        let pruned = EvidenceStore.pruneRetired(in: evidence, before: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(pruned.removed.map(\.name) == ["lab-20200101T000000Z", "lab-2-2020-01-02T000000Z"] && pruned.failed.isEmpty, "\(pruned.failed)")
        #expect(try manager.contentsOfDirectory(atPath: evidence + "/.retired").sorted() == ["lab-20991231T000000Z", "not-a-stamp"])

        // A `.retired` that is a link is nobody's retired folder: nothing it points to is listed or removed.
        let elsewhere = root + "/elsewhere"
        try manager.createDirectory(atPath: elsewhere + "/lab-20200101T000000Z", withIntermediateDirectories: true)
        let linked = root + "/linked"
        try manager.createDirectory(atPath: linked, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: linked + "/.retired", withDestinationPath: elsewhere)
        #expect(EvidenceStore.retired(in: linked).isEmpty)
        #expect(EvidenceStore.pruneRetired(in: linked, before: Date()).removed.isEmpty)
        #expect(manager.fileExists(atPath: elsewhere + "/lab-20200101T000000Z"))
    }
}
