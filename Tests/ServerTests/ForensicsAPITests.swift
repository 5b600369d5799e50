import Foundation
import Testing
import TestSupport

/// Snapshots and forensics through the server on the test driver, over a snapshot folder laid out
/// as `decoynet snapshot` lays it out (its disk a real qcow2 chain; the lab's end-to-end test takes
/// real snapshots of real guests).
@Suite struct ForensicsAPITests {
    let data: String
    let server: ServerProcess
    let admin: HTTPClient
    let checker: OpenAPIChecker
    static let folder = "fx-ws-01-20261201T100000Z"

    init() async throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-fx-" + UUID().uuidString).path
        server = try ServerProcess(data: data)
        admin = HTTPClient(base: server.base, token: server.adminToken)
        checker = try OpenAPIChecker(try await HTTPClient(base: server.base).get("/api/v1/openapi.json").body)
    }

    func call(_ client: HTTPClient, _ method: String, _ path: String, documented: String, json: [String: Any]? = nil,
              expect status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> HTTPAnswer {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        let answer = try await client.send(method, path, body: body, contentType: json == nil ? nil : "application/json")
        #expect(answer.status == status, "\(method) \(path): \(answer.status) \(answer.text.prefix(400))", sourceLocation: sourceLocation)
        let problems = checker.problems(method, documented, answer)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        return answer
    }

    /// A sealed snapshot folder of ws-01 of fx with a disk and no memory.
    func layOut() throws {
        let folder = data + "/snapshots/" + Self.folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try ForensicsFixture.makeDisks(in: data + "/snapshots")
        try FileManager.default.moveItem(atPath: data + "/snapshots/overlay.qcow2", toPath: folder + "/disk.qcow2")
        let record = #"{"host": "ws-01", "taken": "2026-12-01T10:00:00Z", "paused_ms": 45, "memory_bytes": 0, "environment": "fx", "domain": "fx-ws-01", "disk": "disk.qcow2", "method": "live"}"#
        try Data(record.utf8).write(to: URL(fileURLWithPath: folder + "/snapshot.json"))
        try ForensicsFixture.sh("cd '\(folder)' && sha256sum disk.qcow2 snapshot.json > SHA256SUMS")
    }

    @Test func snapshotsAndTheirForensicsAsDocumented() async throws {
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        _ = try await admin.post("/api/v1/environments", yaml: labTopology("fx"))
        _ = try await admin.post("/api/v1/environments", yaml: labTopology("other", cidr: 94))
        try layOut()

        let listed = try await call(admin, "GET", "/api/v1/environments/fx/snapshots", documented: "/api/v1/environments/{name}/snapshots", expect: 200)
        #expect(listed.array.map { $0["name"] as? String } == [Self.folder] && listed.array.first?["paused_ms"] as? Int == 45)
        let none = try await call(admin, "GET", "/api/v1/environments/other/snapshots", documented: "/api/v1/environments/{name}/snapshots", expect: 200)
        #expect(none.array.isEmpty, "another environment's snapshot is not its own")

        let documented = "/api/v1/environments/{name}/snapshots/{folder}/forensics/{view}"
        let files = try await call(admin, "GET", "/api/v1/environments/fx/snapshots/\(Self.folder)/forensics/files", documented: documented, expect: 200)
        let implant = files.array.first { $0["path"] as? String == "/home/tsato/implant.bin" }
        let implantHash = try ForensicsFixture.sha256("implant\n")
        #expect(implant?["change"] as? String == "added" && implant?["user"] as? String == "tsato"
            && implant?["sha256"] as? String == implantHash, "\(files.text.prefix(800))")
        #expect(!files.array.contains { $0["path"] as? String == "/usr/bin/tool" })
        let memory = try await call(admin, "GET", "/api/v1/environments/fx/snapshots/\(Self.folder)/forensics/processes", documented: documented, expect: 422)
        #expect(memory.text.contains("holds no memory image"), "\(memory.text)")
        _ = try await call(admin, "GET", "/api/v1/environments/fx/snapshots/\(Self.folder)/forensics/registry", documented: documented, expect: 404)
        _ = try await call(admin, "GET", "/api/v1/environments/other/snapshots/\(Self.folder)/forensics/files", documented: documented, expect: 404)
        _ = try await call(admin, "GET", "/api/v1/environments/fx/snapshots/..%2F..%2Fetc/forensics/files", documented: documented, expect: 404)

        // Taking one: the hosts are named and known before any job starts.
        let snapshot = "/api/v1/environments/{name}/snapshot"
        _ = try await call(admin, "POST", "/api/v1/environments/fx/snapshot", documented: snapshot, json: [:], expect: 400)
        _ = try await call(admin, "POST", "/api/v1/environments/fx/snapshot", documented: snapshot, json: ["hosts": ["nobody"]], expect: 404)

        // The host's page: its snapshot, readable by view, and the table.
        let page = try await admin.get("/environments/fx/hosts/ws-01?snapshot=\(Self.folder)&view=files")
        #expect(page.status == 200 && page.text.contains("/home/tsato/implant.bin") && page.text.contains("id=\"snapshot\""), "\(page.text.prefix(3000))")
        let unknown = try await admin.get("/environments/fx/hosts/nobody")
        #expect(unknown.status == 404)

        // A student sees no snapshot of an environment that is not theirs.
        let student = try await admin.post("/api/v1/users", json: ["name": "pupil", "role": "student"]).object
        let pupil = HTTPClient(base: server.base, token: try #require(student["token"] as? String))
        _ = try await call(pupil, "GET", "/api/v1/environments/fx/snapshots/\(Self.folder)/forensics/files", documented: documented, expect: 404)
    }
}
