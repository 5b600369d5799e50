import Engine
import Foundation
@testable import Server
import TestSupport
import Testing

/// Evidence downloads from a real server on loopback: streamed from disk (its memory stays flat
/// for a 2 GiB file), ranges answered, a few at a time per user.
@Suite(.serialized) struct DownloadTests {
    let server: ServerProcess
    let admin: HTTPClient
    let folder: String
    let path = "/api/v1/environments/downloads/evidence/downloads-20261203T101010Z/file?path=ws/memory.save"

    init() async throws {
        server = try ServerProcess()
        admin = HTTPClient(base: server.base, token: server.adminToken)
        let made = try await admin.post("/api/v1/environments", yaml: labTopology("downloads", workstations: 2, cidr: 97))
        #expect(made.status == 201, "\(made.status) \(made.text.prefix(300))")
        folder = server.data + "/evidence/downloads-20261203T101010Z"
        try FileManager.default.createDirectory(atPath: folder + "/ws", withIntermediateDirectories: true)
        // 2 GiB of memory image, sparse: nothing on the disk, all of it read by a download.
        let big = folder + "/ws/memory.save"
        #expect(FileManager.default.createFile(atPath: big, contents: Data("DECOYNET".utf8)))
        let handle = try #require(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: 2 << 30)
        try handle.seek(toOffset: (2 << 30) - 4)
        try handle.write(contentsOf: Data("END\n".utf8))
        try handle.close()
        try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        try Data("0000 ws/memory.save\n".utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
    }

    /// kB of the server process's memory: now (VmRSS) and at its peak (VmHWM).
    func memory() throws -> (now: Int, peak: Int) {
        let status = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
        func field(_ name: String) throws -> Int {
            let value = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
            return try #require(value, "\(name) in the server's /proc status")
        }
        return (try field("VmRSS"), try field("VmHWM"))
    }

    /// curl into /dev/null: the HTTP status and the bytes it received.
    func curl(_ extra: [String] = [], token: String? = nil) throws -> (status: Int, bytes: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "Authorization: Bearer \(token ?? server.adminToken)"]
            + extra + [server.base + path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let words = printed.split(separator: " ").compactMap { Int($0) }
        return (words.first ?? 0, words.dropFirst().first ?? 0)
    }

    @Test func aTwoGigabyteFileIsStreamedWithTheServersMemoryFlat() throws {
        let before = try memory()
        let whole = try curl()
        #expect(whole.status == 200 && whole.bytes == 2 << 30, "\(whole)")
        let after = try memory()
        // Chunks of 128 KiB in flight, not the file: the peak grows by far less than it.
        #expect(after.peak - before.now < 256 * 1024, "peak \(after.peak) kB after the download, \(before.now) kB before")
    }

    @Test func rangesAreAnsweredWithTheirPart() async throws {
        let first = try await admin.get(path, headers: ["Range": "bytes=0-7"])
        #expect(first.status == 206 && first.body == Data("DECOYNET".utf8), "\(first.status) \(first.body.count)")
        #expect(first.headers["Content-Range"] == "bytes 0-7/\(2 << 30)", "\(first.headers)")
        let last = try await admin.get(path, headers: ["Range": "bytes=-4"])
        #expect(last.status == 206 && last.body == Data("END\n".utf8))
        let past = try await admin.get(path, headers: ["Range": "bytes=\(2 << 30)-"])
        #expect(past.status == 416 && past.headers["Content-Range"] == "bytes */\(2 << 30)", "\(past.status) \(past.headers)")
        // Several ranges are answered with the whole file (curl gives up at its length).
        let several = try curl(["-r", "0-1,5-6", "--max-filesize", "100"])
        #expect(several.status == 200, "\(several)")
    }

    @Test func aResumedDownloadGetsItsRangeOnlyOfTheFileItBegan() async throws {
        let small = folder + "/ws/console.log"
        try Data("boot\n".utf8).write(to: URL(fileURLWithPath: small))
        try Data("0000 ws/console.log\n0000 ws/memory.save\n".utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
        let logPath = path.replacingOccurrences(of: "ws/memory.save", with: "ws/console.log")
        let began = try await admin.get(logPath)
        let tag = try #require(began.header("ETag"), "\(began.headers)")
        #expect(began.status == 200 && tag.hasPrefix("\"") && tag.hasSuffix("\""))
        let resumed = try await admin.get(logPath, headers: ["Range": "bytes=2-", "If-Range": tag])
        #expect(resumed.status == 206 && resumed.body == Data("ot\n".utf8), "\(resumed.status)")
        // The file grew (a timeline, a console log): the tag changes, and the range is not honoured.
        try Data("boot\nlogin: \n".utf8).write(to: URL(fileURLWithPath: small))
        let changed = try await admin.get(logPath, headers: ["Range": "bytes=2-", "If-Range": tag])
        #expect(changed.status == 200 && changed.body == Data("boot\nlogin: \n".utf8), "\(changed.status) \(changed.text)")
        #expect(changed.header("ETag") != tag)
        #expect(try await admin.get(logPath, headers: ["Range": "bytes=2-", "If-Range": "W/" + tag]).status == 200, "a weak tag never matches")
    }

    @Test func aUserHasAFewDownloadsUnderWayAndGetsThemBackWhenTheyStop() async throws {
        let other = try await admin.post("/api/v1/users", json: ["name": "reader", "role": "admin"])
        let otherToken = try #require(other.object["token"] as? String)
        // Four slow downloads hold all of the admin's slots, each once its first bytes have come.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-slow-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var slow: [Process] = []
        // Killed, not terminated: a child spawned from a test's thread inherits its blocked SIGTERM.
        defer { for process in slow where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        for index in 0 ..< 4 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-s", "-o", scratch + "/\(index)", "--limit-rate", "1M", "-H", "Authorization: Bearer \(server.adminToken)", server.base + path]
            try process.run()
            slow.append(process)
            // One at a time: two arriving together could find each other's slot taken.
            for _ in 0 ..< 300 where ((try? FileManager.default.attributesOfItem(atPath: scratch + "/\(index)")[.size] as? Int) ?? 0) == 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let running = slow.filter { $0.isRunning }.count
        #expect(running == 4, "the four downloads are under way")
        #expect(try curl(["-r", "0-0"]).status == 429, "a fifth download of the same user is refused while four are under way")
        // The evidence page (it hashes the folder) is heavy too; refused in a page that says when to come back.
        let browser = HTTPClient(base: server.base)
        #expect(try await browser.signIn("admin", server.adminToken).status == 303)
        let page = try await browser.get("/environments/downloads/evidence/downloads-20261203T101010Z")
        #expect(page.status == 429 && page.header("Retry-After") == "5" && page.text.contains("Not now"), "\(page.status) \(page.headers)")
        #expect(try curl(["-r", "0-0"], token: otherToken).status == 206, "another user downloads meanwhile")
        // The clients go away mid-download: their slots come back.
        for process in slow { kill(process.processIdentifier, SIGKILL) }
        for process in slow { process.waitUntilExit() }
        var status = 0
        for _ in 0 ..< 100 where status != 206 {
            status = try curl(["-r", "0-0"]).status
            if status != 206 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 206, "the slots of downloads whose clients left are given back")
    }

    /// The Range header's readings, by the rules of RFC 9110, 14.1.2.
    @Test func rangeHeadersReadAsTheRFCSays() {
        #expect(Downloads.range("bytes=0-0", size: 10) == .part(0 ... 0))
        #expect(Downloads.range("bytes=2-", size: 10) == .part(2 ... 9))
        #expect(Downloads.range("bytes=5-99", size: 10) == .part(5 ... 9), "a last position past the end ends at the end")
        #expect(Downloads.range("bytes=-3", size: 10) == .part(7 ... 9))
        #expect(Downloads.range("bytes=-30", size: 10) == .part(0 ... 9), "a suffix longer than the file is the file")
        #expect(Downloads.range("Bytes=1-2", size: 10) == .part(1 ... 2), "the unit is case-insensitive")
        #expect(Downloads.range("bytes=10-", size: 10) == .unsatisfiable)
        #expect(Downloads.range("bytes=-0", size: 10) == .unsatisfiable)
        #expect(Downloads.range("bytes=0-", size: 0) == .unsatisfiable)
        #expect(Downloads.range("bytes=9-3", size: 5) == .whole, "last before first: invalid, so ignored")
        #expect(Downloads.range("bytes=0-1,4-5", size: 10) == .whole)
        #expect(Downloads.range("items=0-1", size: 10) == .whole)
        #expect(Downloads.range("bytes=x-1", size: 10) == .whole)
        #expect(Downloads.range("bytes=99999999999999999999999-", size: 10) == .unsatisfiable)
    }
}
