import Engine
import Foundation
import TestSupport
import Testing

/// Evidence quotas of a real server on loopback (libvirt's test driver behind it): a reset whose
/// evidence would pass the environment's or its owner's quota is refused before anything stops, the
/// usage is shown, and an instructor's removal of old evidence makes room again.
@Suite(.serialized) struct EvidenceQuotaTests {
    /// `answer` as the server's own document says it may be.
    func documented(_ checker: OpenAPIChecker, _ method: String, _ path: String, _ answer: HTTPAnswer, sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = checker.problems(method, path, answer)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }
    /// A server with `arguments`, and `environments` applied on it (every host running); its
    /// OpenAPI document, to check answers against.
    func serve(_ arguments: [String], environments: [(String, Int)]) async throws -> (ServerProcess, HTTPClient, OpenAPIChecker) {
        let server = try ServerProcess(arguments: ["--connect", "test:///default"] + arguments)
        let admin = HTTPClient(base: server.base, token: server.adminToken)
        let checker = try OpenAPIChecker(try await admin.get("/api/v1/openapi.json").body)
        for (name, cidr) in environments {
            let made = try await admin.post("/api/v1/environments", yaml: labTopology(name, workstations: 2, cidr: cidr))
            #expect(made.status == 201, "\(made.status) \(made.text.prefix(300))")
            let job = try await admin.waitForJob(try #require(try await admin.post("/api/v1/environments/\(name)/apply").object["id"] as? String))
            #expect(job["state"] as? String == "succeeded", "\(job)")
        }
        return (server, admin, checker)
    }

    /// An evidence folder of `name` holding `mebibytes` MiB written out (not sparse: it takes the disk).
    func keep(_ server: ServerProcess, _ name: String, stamp: String, mebibytes: Int) throws -> String {
        let folder = server.data + "/evidence/\(name)-\(stamp)"
        try FileManager.default.createDirectory(atPath: folder + "/ws-01", withIntermediateDirectories: true)
        try randomBytes(mebibytes << 20).write(to: URL(fileURLWithPath: folder + "/ws-01/overlay.qcow2"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        return folder
    }

    func running(_ admin: HTTPClient, _ name: String) async throws -> [String] {
        let hosts = try await admin.get("/api/v1/environments/\(name)/status").object["hosts"] as? [[String: Any]] ?? []
        return hosts.filter { $0["state"] as? String == "running" }.compactMap { $0["name"] as? String }.sorted()
    }

    @Test func aResetPastTheEnvironmentsQuotaIsRefusedBeforeAnythingStopsAndRemovalMakesRoom() async throws {
        let (server, admin, checker) = try await serve(["--evidence-quota", "8MiB", "--evidence-user-quota", "none", "--evidence-retention", "30"],
                                              environments: [("quota", 98)])
        let before = try await running(admin, "quota")
        #expect(before.count == 4, "\(before)")
        let old = try keep(server, "quota", stamp: "20261201T101010Z", mebibytes: 8)

        let refused = try await admin.post("/api/v1/environments/quota/reset", json: ["hosts": ["ws-01"], "evidence": true])
        #expect(refused.status == 507, "\(refused.status) \(refused.text.prefix(300))")
        #expect(refused.text.contains("beyond its quota of 8.0 MiB") && refused.text.contains("nothing was stopped"), "\(refused.text)")
        documented(checker, "POST", "/api/v1/environments/{name}/reset", refused)
        #expect(try await running(admin, "quota") == before, "no host stopped")
        #expect(try await admin.get("/api/v1/jobs").array.filter { $0["kind"] as? String == "reset" }.isEmpty, "no job queued")

        // The usage as the API and the evidence page show it.
        let usageAnswer = try await admin.get("/api/v1/environments/quota/quota")
        documented(checker, "GET", "/api/v1/environments/{name}/quota", usageAnswer)
        let usage = usageAnswer.object
        let listed = try await admin.get("/api/v1/environments/quota/evidence")
        documented(checker, "GET", "/api/v1/environments/{name}/evidence", listed)
        #expect(listed.array.map { $0["name"] as? String } == ["quota-20261201T101010Z"] && (listed.array.first?["bytes"] as? Int ?? 0) >= 8 << 20)
        let environment = try #require(usage["environment"] as? [String: Any])
        #expect((environment["used"] as? Int ?? 0) >= 8 << 20 && environment["quota"] as? Int == 8 << 20, "\(usage)")
        #expect(usage["retentionDays"] as? Int == 30)
        let page = try await admin.get("/environments/quota/evidence").text
        #expect(page.contains("this environment: 8.0 MiB of 8.0 MiB") && page.contains("removed 30 days after"), "\(page.prefix(3000))")

        // A reset without evidence is not a quota's business.
        #expect(try await admin.post("/api/v1/environments/quota/reset", json: ["hosts": ["ws-02"]]).status == 202)

        // The instructor removes the old folder, sealed as a reset leaves it: there is room again.
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: old + "/ws-01/overlay.qcow2")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: old + "/ws-01")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: old)
        let removed = try await admin.send("DELETE", "/api/v1/environments/quota/evidence/quota-20261201T101010Z")
        #expect(removed.status == 204, "\(removed.status) \(removed.text)")
        documented(checker, "DELETE", "/api/v1/environments/{name}/evidence/{folder}", removed)
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(try await admin.send("DELETE", "/api/v1/environments/quota/evidence/quota-20261201T101010Z").status == 404)
        let evidence = try await admin.get("/api/v1/environments/quota/quota").object["environment"] as? [String: Any]
        #expect(evidence?["used"] as? Int == 0, "\(String(describing: evidence))")
        withExtendedLifetime(server) {}
    }

    @Test func aResetPastItsOwnersQuotaIsRefusedWhateverEnvironmentHoldsTheRest() async throws {
        let (server, admin, _) = try await serve(["--evidence-quota", "none", "--evidence-user-quota", "8MiB"],
                                              environments: [("owned-a", 99), ("owned-b", 100)])
        _ = try keep(server, "owned-a", stamp: "20261201T101010Z", mebibytes: 5)
        _ = try keep(server, "owned-b", stamp: "20261201T111111Z", mebibytes: 3)
        let refused = try await admin.post("/api/v1/environments/owned-b/reset", json: ["hosts": ["gw"], "evidence": true])
        #expect(refused.status == 507, "\(refused.status) \(refused.text.prefix(300))")
        #expect(refused.text.contains("everything admin owns"), "\(refused.text)")
        let usage = try await admin.get("/api/v1/environments/owned-b/quota").object
        #expect(usage["ownerName"] as? String == "admin")
        #expect(((usage["owner"] as? [String: Any])?["used"] as? Int ?? 0) >= 8 << 20, "\(usage)")
        #expect((usage["environment"] as? [String: Any])?["quota"] == nil, "no limit per environment: \(usage)")
        withExtendedLifetime(server) {}
    }

    @Test func aResetUnderWayHoldsItsEvidenceAgainstTheOwnersQuotaUntilItEnds() async throws {
        // 6 MiB kept of 8 MiB per user; each reset of one host here would keep about 1 MiB: one
        // fits, two do not.
        let (server, admin, checker) = try await serve(["--evidence-quota", "none", "--evidence-user-quota", "8MiB"],
                                                       environments: [("held-a", 102), ("held-b", 103)])
        _ = try keep(server, "held-a", stamp: "20261201T101010Z", mebibytes: 6)
        // The first reset is admitted, then held up on its environment's lock (as by a command).
        var lock: EnvironmentLock? = try EnvironmentLock(environment: "held-a", uri: "test:///default")
        let first = try #require(try await admin.post("/api/v1/environments/held-a/reset", json: ["hosts": ["gw"], "evidence": true]).object["id"] as? String)
        let waiting = try await admin.waitForEvent(first, containing: "waiting for another decoynet command", tries: 200)
        #expect(waiting, "the first reset waits for the lock, its evidence not yet written")

        // The owner's other copy: it would fit on what is on disk, not beside the reset under way.
        let usage = try await admin.get("/api/v1/environments/held-b/quota").object
        #expect(((usage["owner"] as? [String: Any])?["used"] as? Int ?? 0) >= 7 << 20, "the reset under way counts: \(usage)")
        let refused = try await admin.post("/api/v1/environments/held-b/reset", json: ["hosts": ["gw"], "evidence": true])
        #expect(refused.status == 507, "\(refused.status) \(refused.text.prefix(300))")
        #expect(refused.text.contains("resets and snapshots under way"), "\(refused.text)")
        documented(checker, "POST", "/api/v1/environments/{name}/reset", refused)

        // The first ends; what it kept is small, and the room is back.
        lock = nil
        withExtendedLifetime(lock) {}
        // libvirt's test driver keeps no overlay files, so the reset fails once admitted, at moving
        // the host's overlay: what matters here is that its claim ends with the job, however it ends.
        let ended = try await admin.waitForJob(first)
        #expect(ended["finishedAt"] as? String != nil, "\(ended)")
        let admitted = try await admin.post("/api/v1/environments/held-b/reset", json: ["hosts": ["gw"], "evidence": true])
        #expect(admitted.status == 202, "\(admitted.status) \(admitted.text.prefix(300))")
        let second = try await admin.waitForJob(try #require(admitted.object["id"] as? String))
        #expect(((second["outcome"] as? [String: Any])?["steps"] as? [[String: Any]])?.contains { $0["step"] as? String == "reset host gw" } == true,
                "admitted, the second reset ran: \(second)")
        withExtendedLifetime(server) {}
    }

    @Test func onlyAnInstructorRemovesASnapshotAndOnlyWithTheFormsToken() async throws {
        let (server, admin, _) = try await serve(["--evidence-quota", "none", "--evidence-user-quota", "none"], environments: [("snapr", 104)])
        let kept = try snapshot(server.data, "snapr", host: "ws-01", taken: Date(), mebibytes: 1)
        let name = URL(fileURLWithPath: kept).lastPathComponent
        let sam = try await admin.post("/api/v1/users", json: ["name": "sam", "role": "student"])
        let student = HTTPClient(base: server.base, token: try #require(sam.object["token"] as? String))
        let copies = try await admin.post("/api/v1/environments/snapr/copies", json: ["count": 1, "students": ["sam"]]).object
        let copy = try #require((copies["copies"] as? [[String: Any]])?.first?["environment"] as? String)
        #expect(try await admin.waitForJob(try #require((copies["job"] as? [String: Any])?["id"] as? String))["state"] as? String == "succeeded")
        _ = try snapshot(server.data, copy, host: "ws-01", taken: Date(), mebibytes: 1)
        let own = try await student.get("/api/v1/environments/\(copy)/snapshots").array
        #expect(own.count == 1, "\(own)")
        let studentsName = try #require(own.first?["name"] as? String)
        #expect(try await student.send("DELETE", "/api/v1/environments/\(copy)/snapshots/\(studentsName)").status == 403, "a student's snapshots are the class's record")
        #expect(try await student.send("DELETE", "/api/v1/environments/snapr/snapshots/\(name)").status == 404, "another environment's is not even seen")
        // Signed in on the pages, a removal without the page's token changes nothing.
        let browser = HTTPClient(base: server.base)
        #expect(try await browser.signIn("admin", server.adminToken).status == 303)
        let forged = try await browser.post("/environments/snapr/snapshots/\(name)/remove", form: ["csrf": String(repeating: "0", count: 64)])
        #expect(forged.status == 403, "\(forged.status)")
        #expect(try await browser.send("DELETE", "/api/v1/environments/snapr/snapshots/\(name)").status == 403, "nor by the API with the cookie alone")
        #expect(FileManager.default.fileExists(atPath: kept))
        withExtendedLifetime(server) {}
    }

    @Test func retentionRemovesOnlyFoldersPastItsDays() async throws {
        // Kept before the server starts: it removes what is past its days at once.
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-server-" + UUID().uuidString).path
        let old = data + "/evidence/aged-20200101T000000Z", recent = data + "/evidence/aged-" + Self.stamp(Date().addingTimeInterval(-86400))
        for folder in [old, recent] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        }
        // Snapshots by the time they were taken; what earlier students kept by when it was retired.
        let oldSnapshot = try snapshot(data, "aged", host: "ws-01", taken: Date(timeIntervalSince1970: 1_577_836_800), mebibytes: 0)
        let recentSnapshot = try snapshot(data, "aged", host: "ws-02", taken: Date().addingTimeInterval(-86400), mebibytes: 0)
        let oldRetired = data + "/evidence/.retired/aged-20200101T000000Z", recentRetired = data + "/snapshots/.retired/aged-" + Self.stamp(Date().addingTimeInterval(-86400))
        for folder in [oldRetired + "/aged-20191231T000000Z/ws-01", recentRetired + "/aged-ws-01-20191231T000000Z"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/overlay.qcow2"))
        }
        // Sealed, as a reset leaves its evidence.
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: oldRetired + "/aged-20191231T000000Z/ws-01/overlay.qcow2")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: oldRetired + "/aged-20191231T000000Z/ws-01")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: oldRetired + "/aged-20191231T000000Z")
        let server = try ServerProcess(data: data, arguments: ["--connect", "test:///default", "--evidence-retention", "7"])
        var waited = 0.0
        while [old, oldSnapshot, oldRetired].contains(where: FileManager.default.fileExists), waited < 10 {
            try await Task.sleep(nanoseconds: 100_000_000)
            waited += 0.1
        }
        #expect(!FileManager.default.fileExists(atPath: old), "a folder from 2020 is past 7 days")
        #expect(!FileManager.default.fileExists(atPath: oldSnapshot), "so is a snapshot taken in 2020")
        #expect(!FileManager.default.fileExists(atPath: oldRetired), "and what was retired in 2020, sealed as it was")
        #expect(FileManager.default.fileExists(atPath: recent), "yesterday's is kept")
        #expect(FileManager.default.fileExists(atPath: recentSnapshot) && FileManager.default.fileExists(atPath: recentRetired))
        withExtendedLifetime(server) {}
    }

    /// A snapshot folder of `environment`'s `host` under `data`, as a snapshot job leaves it, with
    /// `mebibytes` MiB of memory written out.
    @discardableResult
    func snapshot(_ data: String, _ environment: String, host: String, taken: Date, mebibytes: Int) throws -> String {
        let folder = data + "/snapshots/\(environment)-\(host)-" + Self.stamp(taken)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try randomBytes(mebibytes << 20).write(to: URL(fileURLWithPath: folder + "/memory"))
        let record = SnapshotRecord(host: host, taken: taken, pausedMS: 10, memoryBytes: UInt64(mebibytes << 20), environment: environment,
                                    domain: "\(environment)-\(host)", disk: nil, base: nil, method: "pause")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(record).write(to: URL(fileURLWithPath: folder + "/snapshot.json"))
        return folder
    }

    @Test func snapshotsCountAgainstTheQuotaAndOnePastItIsRefusedBeforeAnyHostPauses() async throws {
        let (server, admin, checker) = try await serve(["--evidence-quota", "8MiB", "--evidence-user-quota", "none"], environments: [("snapq", 101)])
        let kept = try snapshot(server.data, "snapq", host: "ws-01", taken: Date().addingTimeInterval(-60), mebibytes: 8)
        let usage = try await admin.get("/api/v1/environments/snapq/quota")
        documented(checker, "GET", "/api/v1/environments/{name}/quota", usage)
        #expect((usage.object["snapshots"] as? Int ?? 0) >= 8 << 20, "\(usage.object)")
        #expect(((usage.object["environment"] as? [String: Any])?["used"] as? Int ?? 0) >= 8 << 20, "a snapshot is the environment's evidence too")

        let refused = try await admin.post("/api/v1/environments/snapq/snapshot", json: ["hosts": ["ws-02"]])
        #expect(refused.status == 507, "\(refused.status) \(refused.text.prefix(300))")
        #expect(refused.text.contains("this snapshot") && refused.text.contains("nothing was paused"), "\(refused.text)")
        documented(checker, "POST", "/api/v1/environments/{name}/snapshot", refused)
        #expect(try await admin.get("/api/v1/jobs").array.filter { $0["kind"] as? String == "snapshot" }.isEmpty, "no job queued")
        let resetRefused = try await admin.post("/api/v1/environments/snapq/reset", json: ["hosts": ["ws-02"], "evidence": true])
        #expect(resetRefused.status == 507, "a reset's evidence and the snapshots share the quota: \(resetRefused.status)")

        let listed = try await admin.get("/api/v1/environments/snapq/snapshots")
        documented(checker, "GET", "/api/v1/environments/{name}/snapshots", listed)
        #expect((listed.array.first?["bytes"] as? Int ?? 0) >= 8 << 20, "\(listed.array)")
        let page = try await admin.get("/environments/snapq/evidence").text
        #expect(page.contains("(snapshots 8.0 MiB)") && page.contains("/environments/snapq/snapshots/\(URL(fileURLWithPath: kept).lastPathComponent)/remove"),
                "\(page.prefix(3000))")

        // An instructor removes it, sealed as a snapshot leaves it: the room is back.
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: kept + "/memory")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: kept)
        let path = "/api/v1/environments/snapq/snapshots/" + URL(fileURLWithPath: kept).lastPathComponent
        let removed = try await admin.send("DELETE", path)
        #expect(removed.status == 204, "\(removed.status) \(removed.text)")
        documented(checker, "DELETE", "/api/v1/environments/{name}/snapshots/{folder}", removed)
        #expect(!FileManager.default.fileExists(atPath: kept))
        #expect(try await admin.send("DELETE", path).status == 404)
        #expect(((try await admin.get("/api/v1/environments/snapq/quota").object["environment"] as? [String: Any])?["used"] as? Int) == 0)
        withExtendedLifetime(server) {}
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
