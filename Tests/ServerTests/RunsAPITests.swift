import Foundation
import Testing
import TestSupport

/// The timeline and runs API on the test driver, over a watched environment laid out as the
/// watcher and `decoynet run` lay it out (the lab's end-to-end test makes real ones).
@Suite struct RunsAPITests {
    let runs: String
    let server: ServerProcess
    let admin: HTTPClient
    let checker: OpenAPIChecker
    static let runID = "20261201T100000Z-1a2b"

    init() async throws {
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-runs-" + UUID().uuidString).path
        server = try ServerProcess(environment: ["DECOYNET_RUNS": runs])
        admin = HTTPClient(base: server.base, token: server.adminToken)
        checker = try OpenAPIChecker(try await HTTPClient(base: server.base).get("/api/v1/openapi.json").body)
    }

    func call(_ client: HTTPClient, _ method: String, _ path: String, documented: String, body: Data? = nil, contentType: String? = nil,
              expect status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> HTTPAnswer {
        let answer = try await client.send(method, path, body: body, contentType: contentType)
        #expect(answer.status == status, "\(method) \(path): \(answer.status) \(answer.text.prefix(400))", sourceLocation: sourceLocation)
        let problems = checker.problems(method, documented, answer)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        return answer
    }

    static let events = [
        #"{"time":"2026-12-01T10:00:01.000Z","kind":"dns","network":"lan","src":{"host":"ws-01","address":"10.93.1.2"},"dst":{"host":null,"address":"10.93.1.1"},"detail":{"query":"c2.example.net","type":"A","answers":["203.0.113.1"],"rcode":"NOERROR"}}"#,
        #"{"time":"2026-12-01T10:00:02.000Z","kind":"http","network":"lan","src":{"host":"ws-01","address":"10.93.1.2"},"dst":{"host":null,"address":"198.51.100.7"},"outside":true,"detail":{"method":"GET","host":"c2.example.net","path":"/beacon","status":200}}"#,
    ]

    /// A watched environment's folder: its settings, its timeline, one run.
    func layOut(_ environment: String) throws { try Self.layOut(environment, in: runs) }

    static func layOut(_ environment: String, in runs: String) throws {
        let folder = runs + "/" + environment
        try FileManager.default.createDirectory(atPath: folder + "/" + Self.runID, withIntermediateDirectories: true)
        let settings = """
        {"book":{"environment":"\(environment)","networks":[{"name":"lan","cidr":"10.93.1.0/24","bridgeAddress":"10.93.1.1"}],"hosts":{"10.93.1.2":"ws-01"},"outside_hosts":["inet"]},
         "captures":"\(folder)/none","keepBytes":1048576,
         "facts":{"domain":"corp.example","people":[{"user":"tsato","name":"Taro Sato","mail":"tsato@corp.example"}],"owners":{"ws-01":"tsato"},
                  "mailHost":"mail","mailAddress":"10.93.2.25","internetHost":"inet"}}
        """
        try Data(settings.utf8).write(to: URL(fileURLWithPath: folder + "/watch.json"))
        try Data(Self.events.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: folder + "/timeline.jsonl"))
        let run = """
        {"id":"\(Self.runID)","environment":"\(environment)","sample":{"name":"beacon.sh","sha256":"00ff","size":3},"delivered_to":"tsato@corp.example",
         "opened_on":["ws-01"],"started":"2026-12-01T10:00:00.000Z","ended":"2026-12-01T10:00:03.000Z","ended_by":"c2",
         "milestones":[{"name":"opened","time":"2026-12-01T10:00:00.500Z"},{"name":"c2","time":"2026-12-01T10:00:02.000Z"},{"name":"ended","time":"2026-12-01T10:00:03.000Z"}],
         "folder":"\(folder)/\(Self.runID)"}
        """
        try Data(run.utf8).write(to: URL(fileURLWithPath: folder + "/\(Self.runID)/run.json"))
        try Data(Self.events[1].utf8).write(to: URL(fileURLWithPath: folder + "/\(Self.runID)/timeline.jsonl"))
        try Data(#"{"type":"bundle","id":"bundle--1","objects":[]}"#.utf8).write(to: URL(fileURLWithPath: folder + "/\(Self.runID)/stix.json"))
    }

    @Test func timelineRunsAndTheirFilesAsDocumented() async throws {
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: runs)
        }
        _ = try await admin.post("/api/v1/environments", yaml: labTopology("watched"))
        _ = try await admin.post("/api/v1/environments", yaml: labTopology("plain", cidr: 94))
        try layOut("watched")

        let all = try await call(admin, "GET", "/api/v1/environments/watched/events", documented: "/api/v1/environments/{name}/events", expect: 200)
        #expect(all.array.map { $0["kind"] as? String } == ["dns", "http"])
        #expect(all.text == "[" + Self.events.joined(separator: ",") + "]", "the lines as the timeline holds them")
        let http = try await call(admin, "GET", "/api/v1/environments/watched/events?kind=http&host=ws-01", documented: "/api/v1/environments/{name}/events", expect: 200)
        #expect(http.array.count == 1)
        _ = try await call(admin, "GET", "/api/v1/environments/watched/events?kind=telnet", documented: "/api/v1/environments/{name}/events", expect: 400)
        _ = try await call(admin, "GET", "/api/v1/environments/plain/events", documented: "/api/v1/environments/{name}/events", expect: 404)

        // Live: what is kept, then a new event as it is written.
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "--max-time", "10", "-H", "Authorization: Bearer \(server.adminToken)", server.base + "/api/v1/environments/watched/events?follow=true&kind=dns"]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let later = Self.events[0].replacingOccurrences(of: "10:00:01.000Z", with: "10:00:05.000Z").replacingOccurrences(of: "c2.example.net", with: "later.example.net")
        let handle = try #require(FileHandle(forWritingAtPath: runs + "/watched/timeline.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((later + "\n").utf8))
        try handle.close()
        let streamed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        #expect(streamed == "event: dns\ndata: \(Self.events[0])\n\nevent: dns\ndata: \(later)\n\n", "\(streamed)")

        // Runs.
        let listed = try await call(admin, "GET", "/api/v1/environments/watched/runs", documented: "/api/v1/environments/{name}/runs", expect: 200)
        #expect(listed.array.map { $0["id"] as? String } == [Self.runID])
        let run = try await call(admin, "GET", "/api/v1/runs/\(Self.runID)", documented: "/api/v1/runs/{id}", expect: 200)
        #expect(run.object["ended_by"] as? String == "c2")
        let timeline = try await call(admin, "GET", "/api/v1/runs/\(Self.runID)/timeline", documented: "/api/v1/runs/{id}/timeline", expect: 200)
        #expect(timeline.text == Self.events[1])
        _ = try await call(admin, "GET", "/api/v1/runs/\(Self.runID)/stix", documented: "/api/v1/runs/{id}/stix", expect: 200)
        _ = try await call(admin, "GET", "/api/v1/runs/20261201T100000Z-ffff", documented: "/api/v1/runs/{id}", expect: 404)
        _ = try await call(admin, "GET", "/api/v1/runs/..%2F..%2Fetc", documented: "/api/v1/runs/{id}", expect: 404)

        // The page: the runs with their files, the events so far (then live, by the script).
        let signedIn = try await admin.get("/environments/watched/timeline")
        #expect(signedIn.status == 200)
        #expect(signedIn.text.contains("<td class=\"mono\">\(Self.runID)</td><td>beacon.sh</td><td>tsato@corp.example</td><td>opened, c2, ended</td>"), "\(signedIn.text)")
        #expect(signedIn.text.contains("<tr class=\"http outside\"><td class=\"mono\">2026-12-01T10:00:02.000Z</td><td>lan</td><td>http</td><td>ws-01 (10.93.1.2)</td><td>198.51.100.7</td><td>GET c2.example.net/beacon 200</td></tr>"))
        #expect(signedIn.text.contains("data-environment=\"watched\""))
        let quiet = try await admin.get("/environments/plain/timeline")
        #expect(quiet.text.contains("plain is not watched"))
        let none = try await call(admin, "GET", "/api/v1/environments/watched/events?limit=0", documented: "/api/v1/environments/{name}/events", expect: 200)
        #expect(none.array.isEmpty)

        // A student sees no run of an environment that is not theirs.
        let student = try await admin.post("/api/v1/users", json: ["name": "pupil", "role": "student"]).object
        let pupil = HTTPClient(base: server.base, token: try #require(student["token"] as? String))
        _ = try await call(pupil, "GET", "/api/v1/runs/\(Self.runID)", documented: "/api/v1/runs/{id}", expect: 404)
        _ = try await call(pupil, "GET", "/api/v1/environments/watched/events", documented: "/api/v1/environments/{name}/events", expect: 404)

        // Starting one: the sample as multipart form data; bad forms refused, a good one a job.
        let boundary = "decoynet-test-boundary"
        func form(_ fields: [String: String], sample: String?) -> Data {
            var body = ""
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(key)\"\r\n\r\n\(value)\r\n"
            }
            if let sample {
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"sample\"; filename=\"beacon.sh\"\r\nContent-Type: application/octet-stream\r\n\r\n\(sample)\r\n"
            }
            return Data((body + "--\(boundary)--\r\n").utf8)
        }
        let type = "multipart/form-data; boundary=\(boundary)"
        // A student starts no run in an environment not theirs: it is as absent as to every other call.
        _ = try await call(pupil, "POST", "/api/v1/environments/watched/runs", documented: "/api/v1/environments/{name}/runs",
                           body: form(["to": "tsato", "open": "true"], sample: "#!/bin/sh\n"), contentType: type, expect: 404)
        _ = try await call(admin, "POST", "/api/v1/environments/watched/runs", documented: "/api/v1/environments/{name}/runs",
                           body: form(["to": "tsato"], sample: nil), contentType: type, expect: 400)
        _ = try await call(admin, "POST", "/api/v1/environments/watched/runs", documented: "/api/v1/environments/{name}/runs",
                           body: form(["to": "tsato", "until": "forever"], sample: "#!/bin/sh\n"), contentType: type, expect: 400)
        _ = try await call(admin, "POST", "/api/v1/environments/plain/runs", documented: "/api/v1/environments/{name}/runs",
                           body: form(["to": "tsato"], sample: "#!/bin/sh\n"), contentType: type, expect: 422)
        let accepted = try await call(admin, "POST", "/api/v1/environments/watched/runs", documented: "/api/v1/environments/{name}/runs",
                                      body: form(["to": "tsato", "open": "true", "until": "c2", "then": "reset"], sample: "#!/bin/sh\necho hi\n"),
                                      contentType: type, expect: 202)
        let job = try await admin.waitForJob(try #require(accepted.object["id"] as? String), timeout: 60)
        // The test driver runs no guest: the run stops before delivering, saying why.
        #expect(job["state"] as? String == "failed", "\(job)")
        let events = try await admin.get("/api/v1/jobs/\(accepted.object["id"] as? String ?? "")/events").array
        #expect(events.contains { (($0["event"] as? [String: Any])?["message"] as? String)?.contains("is not running") == true }, "\(events)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: server.data + "/samples")) ?? []).isEmpty, "the staged sample is removed")
    }
}
