import Engine
import Foundation
import Server
import TestSupport
import Testing

/// A topology for libvirt's test driver: hosts whose only probe is `running`, disks with a size
/// (the test driver has no backing files to take it from).
func labTopology(_ name: String, workstations: Int = 3, cidr: Int = 93) -> String {
    """
    name: \(name)
    description: Test-driver environment for the server
    networks:
      lan: { cidr: 10.\(cidr).1.0/24, gateway: gw }
      dmz: { cidr: 10.\(cidr).2.0/24, gateway: gw }
    defaults:
      health: { timeout: 20s, probes: [running] }
      disk: 1GiB
    hosts:
      gw:
        template: tiny
        interfaces:
          - { network: lan, address: 10.\(cidr).1.254 }
          - { network: dmz, address: 10.\(cidr).2.254 }
      web:
        template: tiny
        interfaces: [{ network: dmz }]
      ws:
        template: tiny
        count: \(workstations)
        interfaces: [{ network: lan }]
    checks:
      - { from: ws-01, to: web, port: 80, expect: open }
    """
}

/// Calls every endpoint of a real server on loopback (libvirt's test driver behind it) and checks
/// each answer against the OpenAPI document the server itself serves.
@Suite(.serialized) struct APITests {
    let server: ServerProcess
    let admin: HTTPClient
    let checker: OpenAPIChecker

    init() async throws {
        server = try ServerProcess()
        admin = HTTPClient(base: server.base, token: server.adminToken)
        let document = try await HTTPClient(base: server.base).get("/api/v1/openapi.json")
        checker = try OpenAPIChecker(document.body)
    }

    /// Sends, checks the answer against the document, and returns it.
    @discardableResult
    func call(_ client: HTTPClient, _ method: String, _ path: String, documented: String? = nil, json: Any? = nil, yaml: String? = nil,
              headers: [String: String] = [:], expect status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> HTTPAnswer {
        let answer: HTTPAnswer
        if let yaml {
            answer = try await client.send(method, path, body: Data(yaml.utf8), contentType: "application/yaml", headers: headers)
        } else {
            answer = try await client.send(method, path, body: try json.map { try JSONSerialization.data(withJSONObject: $0) },
                                           contentType: json == nil ? nil : "application/json", headers: headers)
        }
        #expect(answer.status == status, "\(method) \(path): \(answer.status) \(answer.text.prefix(400))", sourceLocation: sourceLocation)
        let problems = checker.problems(method, documented ?? path, answer)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        return answer
    }

    @Test func theDocumentIsOpenAPI3AndComplete() {
        #expect(checker.document["openapi"] as? String == "3.0.3")
        #expect(checker.danglingReferences().isEmpty, "\(checker.danglingReferences())")
        for (path, item) in checker.paths {
            for (method, operation) in item where ["get", "post", "delete"].contains(method) {
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                #expect(!responses.isEmpty, "\(method) \(path) lists no responses")
            }
        }
        #expect(checker.paths.count >= 20)
    }

    @Test func everyEndpointAnswersAsDocumented() async throws {
        let anonymous = HTTPClient(base: server.base)
        try await call(anonymous, "GET", "/healthz", expect: 200)
        try await call(anonymous, "GET", "/api/v1/me", expect: 401)
        try await call(anonymous, "GET", "/api/v1/environments", expect: 401)
        try await call(HTTPClient(base: server.base, token: "not-a-token"), "GET", "/api/v1/me", expect: 401)
        let me = try await call(admin, "GET", "/api/v1/me", expect: 200)
        #expect(me.object["role"] as? String == "admin")

        // Users.
        let users = try await call(admin, "GET", "/api/v1/users", expect: 200)
        #expect(users.array.map { $0["name"] as? String } == ["admin"])
        let instructor = try await call(admin, "POST", "/api/v1/users", json: ["name": "teacher", "role": "instructor", "password": "correct horse"], expect: 201)
        #expect((instructor.object["token"] as? String)?.count == 64)
        try await call(admin, "POST", "/api/v1/users", json: ["name": "teacher", "role": "instructor"], expect: 409)
        try await call(admin, "POST", "/api/v1/users", json: ["name": "Bad Name", "role": "student"], expect: 400)
        try await call(admin, "POST", "/api/v1/users", json: ["nom": "x"], expect: 400)

        // Validation: errors at their lines, nothing kept.
        let good = labTopology("apitest")
        let valid = try await call(admin, "POST", "/api/v1/validate", yaml: good, expect: 200)
        #expect(valid.object["valid"] as? Bool == true)
        let broken = good.replacingOccurrences(of: "network: dmz }]", with: "network: dmzz }]")
        let invalid = try await call(admin, "POST", "/api/v1/validate", yaml: broken, expect: 200)
        #expect(invalid.object["valid"] as? Bool == false)
        let diagnostic = try #require((invalid.object["diagnostics"] as? [[String: Any]])?.first)
        let line = try #require(broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("dmzz") }) + 1
        #expect(diagnostic["line"] as? Int == line, "\(diagnostic)")
        #expect((diagnostic["message"] as? String)?.contains("dmz") ?? false, "a suggestion names the network meant: \(diagnostic)")
        #expect((diagnostic["rendered"] as? String)?.hasPrefix("topology.yaml:\(line):") ?? false, "no server path leaks: \(diagnostic)")
        let listed = try await call(admin, "GET", "/api/v1/environments", expect: 200)
        #expect(listed.array.isEmpty)

        // Uploads: refused with diagnostics, too large, images outside the store; then accepted.
        let refused = try await call(admin, "POST", "/api/v1/environments", yaml: broken, expect: 422)
        #expect(!((refused.object["diagnostics"] as? [Any]) ?? []).isEmpty)
        try await call(admin, "POST", "/api/v1/environments", yaml: String(repeating: "#", count: (1 << 20) + 10), expect: 413)
        let outside = good + "\nimages:\n  stolen: { disk: /etc/shadow }\n"
        let escaped = outside.replacingOccurrences(of: "  web:\n    template: tiny\n", with: "  web:\n    template: tiny\n    image: stolen\n")
        let confined = try await call(admin, "POST", "/api/v1/environments", yaml: escaped, expect: 422)
        let ids = ((confined.object["diagnostics"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains("image-outside-store"), "\(confined.text)")
        let prying = try await call(admin, "POST", "/api/v1/environments", yaml: "templates: [/etc/, /root/.ssh]\n" + good, expect: 422)
        let pryingIDs = ((prying.object["diagnostics"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(pryingIDs == ["template-path-outside", "template-path-outside"], "templates only from the server's folders: \(prying.text)")
        // Nor the stored topologies beside the upload: their names would show in the diagnostics.
        for place in [".", "..", "apitest.yaml", "../topologies"] {
            let beside = try await call(admin, "POST", "/api/v1/validate", yaml: "templates: [\"\(place)\"]\n" + good, expect: 200)
            let besideIDs = ((beside.object["diagnostics"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            #expect(besideIDs == ["template-path-outside"], "\(place): \(beside.text)")
        }
        let created = try await call(admin, "POST", "/api/v1/environments", yaml: good, expect: 201)
        #expect(created.object["name"] as? String == "apitest")
        #expect(created.object["hosts"] as? Int == 5)
        try await call(admin, "POST", "/api/v1/environments", yaml: good, expect: 200)

        // Reading it.
        let detail = try await call(admin, "GET", "/api/v1/environments/apitest", documented: "/api/v1/environments/{name}", expect: 200)
        let hosts = detail.object["hosts"] as? [[String: Any]] ?? []
        #expect(hosts.map { $0["name"] as? String } == ["gw", "web", "ws-01", "ws-02", "ws-03"])
        #expect(hosts.allSatisfy { $0["health"] as? String == "absent" })
        #expect((detail.object["checks"] as? [[String: Any]])?.count == 1)
        let topology = try await call(admin, "GET", "/api/v1/environments/apitest/topology", documented: "/api/v1/environments/{name}/topology", expect: 200)
        #expect(topology.text == good)
        try await call(admin, "GET", "/api/v1/environments/nothing", documented: "/api/v1/environments/{name}", expect: 404)

        // Apply as a job; its events as JSON and as Server-Sent Events.
        let apply = try await call(admin, "POST", "/api/v1/environments/apitest/apply", documented: "/api/v1/environments/{name}/apply", expect: 202)
        let id = try #require(apply.object["id"] as? String)
        let job = try await admin.waitForJob(id)
        #expect(job["state"] as? String == "succeeded", "\(job)")
        let finished = try await call(admin, "GET", "/api/v1/jobs/\(id)", documented: "/api/v1/jobs/{id}", expect: 200)
        let outcome = finished.object["outcome"] as? [String: Any] ?? [:]
        #expect((outcome["health"] as? [[String: Any]])?.count == 5)
        let events = try await call(admin, "GET", "/api/v1/jobs/\(id)/events", documented: "/api/v1/jobs/{id}/events", expect: 200)
        let kinds = events.array.compactMap { ($0["event"] as? [String: Any])?["kind"] as? String }
        #expect(kinds.first == "plan")
        #expect(kinds.filter { $0 == "healthy" }.count == 5, "\(kinds)")
        #expect(events.array.map { $0["sequence"] as? Int } == Array(0 ..< events.array.count).map { $0 }, "in order, none lost")
        let stream = try await admin.get("/api/v1/jobs/\(id)/events?after=2", headers: ["Accept": "text/event-stream"])
        #expect(stream.header("Content-Type")?.hasPrefix("text/event-stream") ?? false)
        #expect(stream.text.contains("id: 3\nevent: "))
        #expect(!stream.text.contains("id: 2\n"))
        #expect(stream.text.contains("event: end\ndata: {"))
        try await call(admin, "GET", "/api/v1/jobs/nothing", documented: "/api/v1/jobs/{id}", expect: 404)
        let jobs = try await call(admin, "GET", "/api/v1/jobs", expect: 200)
        #expect(jobs.array.contains { $0["id"] as? String == id })

        let status = try await call(admin, "GET", "/api/v1/environments/apitest/status", documented: "/api/v1/environments/{name}/status", expect: 200)
        #expect((status.object["hosts"] as? [[String: Any]] ?? []).allSatisfy { $0["health"] as? String == "healthy" }, "\(status.text)")

        // Operation tests as a job (probes only reach guests in the lab; here the job runs and reports).
        let test = try await call(admin, "POST", "/api/v1/environments/apitest/test", documented: "/api/v1/environments/{name}/test", expect: 202)
        let tested = try await admin.waitForJob(try #require(test.object["id"] as? String))
        #expect(["succeeded", "failed"].contains(tested["state"] as? String), "\(tested)")

        // Evidence: none yet; an unknown folder is 404.
        let folders = try await call(admin, "GET", "/api/v1/environments/apitest/evidence", documented: "/api/v1/environments/{name}/evidence", expect: 200)
        #expect(folders.array.isEmpty)
        try await call(admin, "GET", "/api/v1/environments/apitest/evidence/apitest-x", documented: "/api/v1/environments/{name}/evidence/{folder}", expect: 404)
        try await call(admin, "GET", "/api/v1/environments/apitest/evidence/apitest-x/file?path=SHA256SUMS",
                       documented: "/api/v1/environments/{name}/evidence/{folder}/file", expect: 404)

        // Copies for students, built by one job.
        let copies = try await call(admin, "POST", "/api/v1/environments/apitest/copies", documented: "/api/v1/environments/{name}/copies",
                                    json: ["count": 2, "students": ["ann", "bob"]], expect: 201)
        let made = copies.object["copies"] as? [[String: Any]] ?? []
        #expect(made.map { $0["environment"] as? String } == ["apitest-i1", "apitest-i2"])
        #expect(made.map { $0["student"] as? String } == ["ann", "bob"])
        #expect((made.first?["link"] as? String)?.hasPrefix(server.base + "/s/") ?? false)
        let copyJob = try await admin.waitForJob(try #require((copies.object["job"] as? [String: Any])?["id"] as? String))
        #expect(copyJob["state"] as? String == "succeeded", "\(copyJob)")
        #expect(copyJob["targets"] as? [String] == ["apitest-i1", "apitest-i2"])
        try await call(admin, "POST", "/api/v1/environments/apitest/copies", documented: "/api/v1/environments/{name}/copies", json: ["count": 0], expect: 400)

        // Still deployed: cannot be forgotten. Destroyed (copies too): forgotten.
        try await call(admin, "DELETE", "/api/v1/environments/apitest", documented: "/api/v1/environments/{name}", expect: 409)
        for name in ["apitest", "apitest-i1", "apitest-i2"] {
            let destroy = try await call(admin, "POST", "/api/v1/environments/\(name)/destroy", documented: "/api/v1/environments/{name}/destroy", expect: 202)
            let destroyed = try await admin.waitForJob(try #require(destroy.object["id"] as? String))
            #expect(destroyed["state"] as? String == "succeeded", "\(destroyed)")
        }
        try await call(admin, "DELETE", "/api/v1/environments/apitest", documented: "/api/v1/environments/{name}", expect: 204)
        #expect(try await call(admin, "GET", "/api/v1/environments", expect: 200).array.isEmpty)

        // Metrics after all this.
        let metrics = try await call(anonymous, "GET", "/metrics", expect: 200)
        #expect(metrics.text.contains("decoynet_jobs_total{kind=\"apply\",state=\"succeeded\"} 2"), "\(metrics.text)")
        #expect(metrics.text.contains("decoynet_job_duration_seconds_bucket{kind=\"destroy\""))
        #expect(metrics.text.contains("decoynet_environments 0"))
    }

    @Test func aChangeBySessionNeedsItsCSRFTokenAndABearerTokenNone() async throws {
        let browser = HTTPClient(base: server.base)
        let signIn = try await browser.signIn("admin", server.adminToken)
        #expect(signIn.status == 303)
        #expect(signIn.header("Set-Cookie")?.contains("HttpOnly") ?? false)
        #expect(signIn.header("Set-Cookie")?.contains("SameSite=Strict") ?? false)
        // Signed in by the cookie, a change without the token is refused; reading is not.
        try await call(browser, "GET", "/api/v1/me", expect: 200)
        let refused = try await browser.post("/api/v1/users", json: ["name": "mallory", "role": "admin"])
        #expect(refused.status == 403)
        let page = try await browser.get("/environments")
        let csrf = try #require(page.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/)?.1)
        let accepted = try await browser.send("POST", "/api/v1/users", body: Data(#"{"name":"carol","role":"student"}"#.utf8),
                                              contentType: "application/json", headers: ["X-CSRF-Token": String(csrf)])
        #expect(accepted.status == 201)
        let wrong = try await browser.post("/environments", form: ["csrf": String(repeating: "0", count: 64), "topology": labTopology("csrftest")])
        #expect(wrong.status == 403)
        #expect(try await admin.get("/api/v1/environments/csrftest").status == 404)
        let bad = try await browser.signIn("admin", "guess")
        #expect(bad.status == 401)
        // A sign-in form from elsewhere (no token of this server's form) is refused before any password is checked.
        let forged = try await HTTPClient(base: server.base).post("/login", form: ["name": "admin", "password": server.adminToken])
        #expect(forged.status == 403 && forged.text.contains("came from elsewhere"))
    }

    @Test func oneUserCannotValidateWithoutEnd() async throws {
        let topology = labTopology("limited")
        var answers: [HTTPAnswer] = []
        for _ in 0 ..< 60 {
            let answer = try await admin.send("POST", "/api/v1/validate", body: Data(topology.utf8), contentType: "application/yaml")
            answers.append(answer)
            if answer.status == 429 { break }
        }
        let refused = try #require(answers.last)
        #expect(refused.status == 429, "60 validations at once were all answered")
        #expect(answers.dropLast().count >= 20 && answers.dropLast().allSatisfy { $0.status == 200 }, "the first 20 are answered")
        #expect(refused.text.contains("too many validations: try again in"))
        #expect(checker.problems("POST", "/api/v1/validate", refused).isEmpty, "\(checker.problems("POST", "/api/v1/validate", refused))")
        // Another user has their own.
        let made = try await call(admin, "POST", "/api/v1/users", json: ["name": "dora", "role": "student"], expect: 201)
        let student = HTTPClient(base: server.base, token: try #require(made.object["token"] as? String))
        try await call(student, "POST", "/api/v1/validate", yaml: topology, expect: 200)
    }

    @Test func wrongPasswordsForOneNameAreLimitedAndOthersAreNot() async throws {
        let browser = HTTPClient(base: server.base)
        // The five at once: one after another, on a loaded machine, they can take longer than the
        // 12 s in which the limit gives one back.
        let base = server.base
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0 ..< 5 { group.addTask { try await HTTPClient(base: base).signIn("admin", "guess").status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == [401, 401, 401, 401, 401])
        // Past five, not even the right password is checked until the next try is due.
        let limited = try await browser.signIn("admin", server.adminToken)
        #expect(limited.status == 429)
        #expect(limited.text.contains("Too many wrong passwords for this user: try again in"))
        #expect(try await browser.signIn("carol", "guess").status == 401, "another name is not limited")
        // The admin's token still works as a bearer token.
        try await call(admin, "GET", "/api/v1/me", expect: 200)
    }

    @Test func aGeneratorNamedAgainAndAgainIsALocatedErrorWhileOthersAreAnswered() async throws {
        // The issue's file: 10,000 people written once and named a hundred times, billions once
        // every name is searched; now refused where the total passes 20,000.
        let people = "people: [&g { generate: 10000 }" + String(repeating: ", *g", count: 100) + "]\n"
        let bomb = labTopology("bomb").replacingOccurrences(of: "networks:\n", with: people + "networks:\n")
        let client = admin
        async let validation = client.send("POST", "/api/v1/validate", body: Data(bomb.utf8), contentType: "application/yaml")
        async let others = client.get("/api/v1/environments")
        let (answer, list) = try await (validation, others)
        #expect(answer.status == 200 && list.status == 200)
        let diagnostics = answer.object["diagnostics"] as? [[String: Any]] ?? []
        #expect(answer.object["valid"] as? Bool == false)
        #expect(diagnostics.map { $0["id"] as? String } == ["too-many-people"], "\(diagnostics)")
        #expect(diagnostics.first?["line"] as? Int == 3)
    }

    @Test func aCopyGivenToAnotherStudentKeepsNothingOfTheOneBefore() async throws {
        #expect(try await admin.post("/api/v1/environments", yaml: labTopology("handover", workstations: 2, cidr: 96)).status == 201)
        func copy(to student: String) async throws -> (link: String, job: [String: Any]) {
            let answer = try await admin.post("/api/v1/environments/handover/copies", json: ["count": 1, "students": [student]])
            #expect(answer.status == 201)
            let made = try #require((answer.object["copies"] as? [[String: Any]])?.first)
            let job = try await admin.waitForJob(try #require((answer.object["job"] as? [String: Any])?["id"] as? String))
            #expect(job["state"] as? String == "succeeded", "\(job)")
            let link = try #require(made["link"] as? String)
            return (String(link.dropFirst(server.base.count)), job)
        }
        // Ann works in her copy: a job of her own, evidence kept.
        let ann = HTTPClient(base: server.base)
        #expect(try await ann.open(link: try await copy(to: "ann").link).status == 303)
        let annJob = try #require(try await ann.post("/api/v1/environments/handover-i1/apply").object["id"] as? String)
        _ = try await ann.waitForJob(annJob)
        let evidence = server.data + "/evidence/handover-i1-20261202T101010Z"
        try FileManager.default.createDirectory(atPath: evidence, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: evidence + "/manifest.json"))
        #expect(try await ann.get("/api/v1/environments/handover-i1/evidence").array.count == 1)

        // Given to Zed: rebuilt from nothing, and nothing of Ann's is his to see.
        let (link, job) = try await copy(to: "zed")
        let events = try await admin.get("/api/v1/jobs/\(try #require(job["id"] as? String))/events").text
        #expect(events.contains("given to a new student: handover-i1 destroyed and built again"), "\(events.prefix(2000))")
        let zed = HTTPClient(base: server.base)
        #expect(try await zed.open(link: link).status == 303)
        #expect(try await zed.get("/api/v1/environments/handover-i1/evidence").array.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: evidence) && FileManager.default.fileExists(atPath: server.data + "/evidence/.retired"),
                "Ann's evidence is retired, not lost")
        #expect(try await zed.get("/api/v1/jobs/\(annJob)").status == 404)
        #expect(try await zed.get("/api/v1/jobs").array.isEmpty, "the job that built every copy is not a student's, nor Ann's jobs")
        #expect(!(try await zed.get("/environments/handover-i1?job=\(annJob)").text.contains(annJob)))
        #expect(try await ann.get("/api/v1/environments/handover-i1").status == 404, "Ann no longer sees the copy")
    }
}
