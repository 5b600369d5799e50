@testable import Engine
import Foundation
import Testing

/// Viewing an evidence folder again reads none of its files again while they stay the same.
@Suite struct EvidenceHashTests {
    /// sha256sum's hash of a file: the public tool, not ours.
    func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(printed.prefix(64))
    }

    @Test func aFolderIsHashedOnceWhileItsFilesStayTheSame() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-memo-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("kept".utf8).write(to: URL(fileURLWithPath: folder + "/a.bin"))
        let manifest = EvidenceManifest(environment: "x", topologyDigest: "d", created: Date(), tool: "test", hosts: [], captures: [])
        try EvidenceFolder.writeManifest(manifest, in: folder)
        try Data("\(try sha256sum(folder + "/a.bin")) a.bin\n\(String(repeating: "0", count: 64)) missing.bin\n".utf8)
            .write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))

        let memo = HashMemo()
        #expect(try EvidenceFolder.verify(folder, memo: memo).files.map(\.verified) == [true, false])
        #expect(memo.count == 0, "a file written in the last 2 s is not remembered: a write in the same timestamp tick would not show")
        Thread.sleep(forTimeInterval: 2.1)
        #expect(try EvidenceFolder.verify(folder, memo: memo).files.map(\.verified) == [true, false])
        #expect(memo.count == 1 && memo.answered == 0, "the file that exists is remembered, the missing one is not")
        #expect(try EvidenceFolder.verify(folder, memo: memo).files.map(\.verified) == [true, false])
        #expect(memo.answered == 1, "the second view read the hash from the memo")
        // Rewritten with the same size and its modification time set back: the change time moved,
        // so it is hashed again, and is no longer what was recorded.
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/a.bin")[.modificationDate] as? Date)
        try Data("gone".utf8).write(to: URL(fileURLWithPath: folder + "/a.bin"))
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: folder + "/a.bin")
        #expect(try EvidenceFolder.verify(folder, memo: memo).files.map(\.verified) == [false, false])
        #expect(memo.answered == 1)
        #expect(try EvidenceFolder.verify(folder).files.map(\.verified) == [false, false], "the same without a memo")
    }

    @Test func aFullMemoStartsOver() {
        let memo = HashMemo(capacity: 2)
        for index in 0 ..< 3 {
            memo.remember("h\(index)", for: HashMemo.Key(path: "/f\(index)", device: 1, inode: UInt64(index), bytes: 1, modified: 1, changed: 1))
        }
        #expect(memo.count == 1)
        #expect(memo.hash(for: HashMemo.Key(path: "/f2", device: 1, inode: 2, bytes: 1, modified: 1, changed: 1)) == "h2")
        #expect(memo.hash(for: HashMemo.Key(path: "/f2", device: 1, inode: 2, bytes: 2, modified: 1, changed: 1)) == nil, "another size is another file")
    }
}
