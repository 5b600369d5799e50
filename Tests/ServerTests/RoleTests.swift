import Engine
import Foundation
import Server
import TestSupport
import Testing

/// Each role's allowed and refused calls: a student sees and touches only their own copy, and a
/// copy that is not theirs answers 404, never data.
@Suite(.serialized) struct RoleTests {
    @Test func aStudentReachesOnlyTheirCopy() async throws {
        let server = try ServerProcess()
        let admin = HTTPClient(base: server.base, token: server.adminToken)
        let made = try await admin.post("/api/v1/users", json: ["name": "teacher", "role": "instructor", "password": "correct horse"])
        let teacher = HTTPClient(base: server.base, token: try #require(made.object["token"] as? String))

        #expect(try await teacher.get("/api/v1/users").status == 403, "only an admin lists users")
        #expect(try await teacher.post("/api/v1/environments", yaml: labTopology("roles")).status == 201)
        let copies = try await teacher.post("/api/v1/environments/roles/copies", json: ["count": 2])
        #expect(copies.status == 201)
        _ = try await teacher.waitForJob(try #require((copies.object["job"] as? [String: Any])?["id"] as? String))
        let tokens = (copies.object["copies"] as? [[String: Any]] ?? []).compactMap { $0["token"] as? String }
        #expect(tokens.count == 2)
        // A link's token is neither an API token nor a password.
        #expect(try await HTTPClient(base: server.base, token: tokens[0]).get("/api/v1/me").status == 401)
        #expect(try await HTTPClient(base: server.base).signIn("roles-i1-student", tokens[0]).status == 401)
        // Each student signs in by their link, once.
        let first = HTTPClient(base: server.base)
        let second = HTTPClient(base: server.base)
        #expect(try await first.open(link: "/s/\(tokens[0])").status == 303)
        #expect(try await second.open(link: "/s/\(tokens[1])").status == 303)
        #expect(try await HTTPClient(base: server.base).get("/s/\(tokens[0])").status == 404, "a link is used up by its first use")

        // What the first student sees: their copy only.
        #expect(try await first.get("/api/v1/me").object["role"] as? String == "student")
        #expect(try await first.get("/api/v1/environments").array.map { $0["name"] as? String } == ["roles-i1"])
        #expect(try await first.get("/api/v1/environments/roles-i1").status == 200)
        #expect(try await first.get("/api/v1/environments/roles-i1/status").status == 200)
        // Another student's copy and the original: 404, with nothing of them in the answer.
        for path in ["/api/v1/environments/roles-i2", "/api/v1/environments/roles-i2/status", "/api/v1/environments/roles-i2/topology",
                     "/api/v1/environments/roles-i2/evidence", "/api/v1/environments/roles", "/api/v1/environments/roles/topology"] {
            let answer = try await first.get(path)
            #expect(answer.status == 404, "\(path): \(answer.status)")
            #expect(!answer.text.contains("10.93."), "\(path) leaks addresses: \(answer.text)")
        }
        for path in ["/api/v1/environments/roles-i2/apply", "/api/v1/environments/roles-i2/reset", "/api/v1/environments/roles-i2/destroy",
                     "/api/v1/environments/roles/copies"] {
            #expect(try await first.post(path, json: ["count": 1]).status == 404, "\(path)")
        }
        // The first student's own copy: apply and test yes, destroy no; no users, no uploads.
        let apply = try await first.post("/api/v1/environments/roles-i1/apply")
        #expect(apply.status == 202)
        let job = try #require(apply.object["id"] as? String)
        #expect(try await first.waitForJob(job)["state"] as? String == "succeeded")
        #expect(try await first.post("/api/v1/environments/roles-i1/destroy").status == 403)
        #expect(try await first.get("/api/v1/users").status == 403)
        #expect(try await first.post("/api/v1/users", json: ["name": "x", "role": "admin"]).status == 403)
        #expect(try await first.post("/api/v1/environments", yaml: labTopology("mine")).status == 403)
        // Jobs: their own, not the other student's, not the instructor's.
        let secondJob = try #require(try await second.post("/api/v1/environments/roles-i2/apply").object["id"] as? String)
        #expect(try await first.get("/api/v1/jobs/\(secondJob)").status == 404)
        #expect(try await first.get("/api/v1/jobs/\(secondJob)/events").status == 404)
        let visible = try await first.get("/api/v1/jobs").array.compactMap { $0["environment"] as? String }
        #expect(Set(visible) == ["roles-i1"], "\(visible)")
        #expect(try await teacher.get("/api/v1/jobs/\(secondJob)").status == 200, "an instructor sees every job")

        // A new link: the old one and the student's session end; a student cannot make one.
        #expect(try await first.post("/api/v1/environments/roles-i1/link").status == 403)
        let renewed = try await teacher.post("/api/v1/environments/roles-i1/link")
        #expect(renewed.status == 201)
        let newToken = try #require(renewed.object["token"] as? String)
        #expect(try await first.get("/api/v1/me").status == 401, "the student's session ended with the new link")
        #expect(try await teacher.post("/api/v1/environments/roles/link").status == 400, "the original is nobody's copy")

        // The link signs the student in on the pages and opens their copy; the other copy's page is 404.
        let browser = HTTPClient(base: server.base)
        #expect(try await browser.get("/s/\(newToken)").text.contains("Open my copy"), "fetching the link shows a button and spends nothing")
        let link = try await browser.open(link: "/s/\(newToken)")
        #expect(link.status == 303)
        #expect(link.header("Location") == "/environments/roles-i1")
        let page = try await browser.get("/environments/roles-i1")
        #expect(page.status == 200)
        #expect(page.text.contains("roles-i1"))
        let other = try await browser.get("/environments/roles-i2")
        #expect(other.status == 404)
        #expect(!other.text.contains("10.93."))
        let list = try await browser.get("/environments")
        #expect(!list.text.contains("roles-i2"))
        #expect(try await browser.get("/s/0000").status == 404)
        // Revoked: the session ends and no link is left.
        let revoked = try await teacher.send("DELETE", "/api/v1/environments/roles-i1/link")
        #expect(revoked.status == 204)
        #expect(try await browser.get("/api/v1/me").status == 401)
        server.stop()
    }

    @Test func historySurvivesARestartAndAJobCutShortIsMarkedInterrupted() async throws {
        let first = try ServerProcess()
        let admin = HTTPClient(base: first.base, token: first.adminToken)
        #expect(try await admin.post("/api/v1/environments", yaml: labTopology("history", cidr: 94)).status == 201)
        let done = try #require(try await admin.post("/api/v1/environments/history/apply").object["id"] as? String)
        #expect(try await admin.waitForJob(done)["state"] as? String == "succeeded")
        // A job another command holds up: it waits on the environment's lock, as the CLI does.
        var lock: EnvironmentLock? = try EnvironmentLock(environment: "history", uri: "test:///default")
        let held = try #require(try await admin.post("/api/v1/environments/history/destroy").object["id"] as? String)
        let waited = try await admin.waitForEvent(held, containing: "waiting for another decoynet command", tries: 100)
        #expect(waited, "the job says it waits for the lock")
        #expect(try await admin.get("/api/v1/jobs/\(held)").object["state"] as? String == "running")
        first.stop()
        withExtendedLifetime(lock) {}
        lock = nil

        // The same data folder: the admin's token, the environment and both jobs are still there.
        let second = try ServerProcess(data: first.data)
        #expect(!second.printed.contains("created user admin"))
        let again = HTTPClient(base: second.base, token: first.adminToken)
        #expect(try await again.get("/api/v1/environments").array.map { $0["name"] as? String } == ["history"])
        #expect(try await again.get("/api/v1/jobs/\(done)").object["state"] as? String == "succeeded")
        let interrupted = try await again.get("/api/v1/jobs/\(held)").object
        #expect(interrupted["state"] as? String == "interrupted", "\(interrupted)")
        // And the environment converges on the next run.
        let destroy = try #require(try await again.post("/api/v1/environments/history/destroy").object["id"] as? String)
        #expect(try await again.waitForJob(destroy)["state"] as? String == "succeeded")
        second.stop()
        let attributes = try FileManager.default.attributesOfItem(atPath: first.data + "/admin.token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
