import Engine
import Foundation
import TestSupport
import Testing

/// The pages in headless Chromium, as a user clicks through them: sign in, upload a topology, apply
/// it and watch its hosts turn healthy live, open a host's console, make copies, and a student who
/// can open only theirs.
@Suite(.serialized) struct BrowserTests {
    @Test(.enabled(if: Browser.isAvailable)) func fromSignInToAStudentsCopy() async throws {
        let server = try ServerProcess()
        let browser = try await Browser()
        defer { server.stop() }

        // Sign in with the admin's token as password.
        try await browser.open(server.base + "/")
        #expect(try await browser.url.hasSuffix("/login"))
        try await browser.type("admin", into: "#name")
        try await browser.type(server.adminToken, into: "#password")
        try await browser.click("#sign-in")
        #expect(try await browser.url.hasSuffix("/environments"))

        // A topology with a mistake: the diagnostic is shown at its line, with the source.
        let good = labTopology("webui", workstations: 14, cidr: 95)
        let line = try #require(good.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("network: dmz }]") }) + 1
        try await browser.script("document.getElementById('topology-text').value = arguments[0];", [good.replacingOccurrences(of: "network: dmz }]", with: "network: dmzz }]")])
        try await browser.click("#upload")
        let diagnostics = try await browser.text("#diagnostics")
        #expect(diagnostics.contains("line \(line)"), "\(diagnostics)")
        #expect(try await browser.script("return document.querySelector('.source div.marked').id;") as? String == "line-\(line)")
        try await browser.script("document.getElementById('topology-text').value = arguments[0];", [good])
        try await browser.click("#upload")
        #expect(try await browser.url.hasSuffix("/environments/webui"))
        #expect(try await browser.script("return document.querySelectorAll('#topology g.host.absent').length;") as? Int == 17, "16 hosts, the gateway in both its networks")

        // Apply, held up by another command's lock so that the page is open before it runs: the
        // hosts then turn healthy on the page as the job's events arrive.
        var lock: EnvironmentLock? = try EnvironmentLock(environment: "webui", uri: "test:///default")
        try await browser.click("#apply")
        try await browser.acceptDialog()
        try await browser.wait(until: "document.getElementById('events') && document.getElementById('events').textContent.includes('waiting for another')")
        #expect(try await browser.script("return document.querySelectorAll('#hosts .pill.healthy').length;") as? Int == 0)
        withExtendedLifetime(lock) {}
        lock = nil
        try await browser.wait(until: "document.querySelectorAll('#hosts .pill.healthy').length === 16")
        #expect(try await browser.script("return document.querySelectorAll('#topology g.host.healthy').length;") as? Int == 17, "the picture follows")
        try await browser.wait(until: "document.body.dataset.jobDone === 'succeeded' || document.getElementById('job-state') === null")
        try await browser.wait(until: "!document.getElementById('events') && document.getElementById('healthy-count').textContent.startsWith('16')")
        if ProcessInfo.processInfo.environment["DECOYNET_RECORD_SCREENSHOT"] == "1" {
            try await browser.screenshot().write(to: URL(fileURLWithPath: BuiltBinary.projectRoot + "/docs/server-environment.png"))
        } else {
            let png = try await browser.screenshot()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }

        // A host's console page: xterm.js loads from the server and opens the socket (the test
        // driver has no console to give, and the terminal says so).
        try await browser.open(server.base + "/environments/webui/hosts/gw/console")
        try await browser.wait(until: "typeof Terminal === 'function' && document.querySelector('#terminal .xterm')")
        try await browser.wait(until: "document.querySelector('.xterm-rows') && document.querySelector('.xterm-rows').textContent.includes('no console')")
        #expect(try await browser.text(".xterm-rows").contains("not supported by the connection driver"))
        try await browser.wait(until: "document.getElementById('console-state').textContent === 'closed'")

        // Three copies for three students, one link each.
        try await browser.open(server.base + "/environments/webui/classroom")
        try await browser.script("document.getElementById('count').value = '3';")
        try await browser.click("#make-copies")
        try await browser.acceptDialog()
        try await browser.wait(until: "document.querySelectorAll('#student-links a').length === 3")
        let links = try await browser.script("return Array.from(document.querySelectorAll('#student-links a')).map(a => a.href);") as? [String] ?? []
        #expect(links.count == 3)

        // Each student's link shows their copy, and only theirs.
        for (index, link) in links.enumerated() {
            try await browser.deleteCookies()
            try await browser.open(link)
            try await browser.click("#continue")
            try await browser.wait(until: "location.pathname === '/environments/webui-i\(index + 1)'")
            try await browser.open(server.base + "/environments")
            let names = try await browser.script("return Array.from(document.querySelectorAll('#environment-list a')).map(a => a.textContent);") as? [String]
            #expect(names == ["webui-i\(index + 1)"])
            let other = "webui-i\((index + 1) % 3 + 1)"
            try await browser.open(server.base + "/environments/\(other)")
            let body = try await browser.text("main")
            #expect(body.contains("No environment \(other)"), "\(body)")
            #expect(!body.contains("10.95."))
        }
        await browser.quit()
    }

    @Test(.enabled(if: Browser.isAvailable)) func theTimelineGrowsLiveOnItsPage() async throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-runs-" + UUID().uuidString).path
        let server = try ServerProcess(environment: ["DECOYNET_RUNS": runs])
        let browser = try await Browser()
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: runs)
        }
        let admin = HTTPClient(base: server.base, token: server.adminToken)
        _ = try await admin.post("/api/v1/environments", yaml: labTopology("watched"))
        try RunsAPITests.layOut("watched", in: runs)
        try await browser.open(server.base + "/login")
        try await browser.type("admin", into: "#name")
        try await browser.type(server.adminToken, into: "#password")
        try await browser.click("#sign-in")
        try await browser.open(server.base + "/environments/watched")
        try await browser.click("a[href='/environments/watched/timeline']")
        #expect(try await browser.script("return document.querySelectorAll('#timeline tbody tr').length;") as? Int == 2)
        #expect(try await browser.script("return document.querySelectorAll('#runs tbody tr').length;") as? Int == 1)
        // An event written to the timeline shows on the open page, without a reload.
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let later = #"{"time":"2026-12-01T10:00:09.000Z","kind":"milestone","network":null,"src":null,"dst":null,"detail":{"name":"c2"}}"#
        let handle = try #require(FileHandle(forWritingAtPath: runs + "/watched/timeline.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((later + "\n").utf8))
        try handle.close()
        try await browser.wait(until: "document.querySelectorAll('#timeline tbody tr').length === 3")
        #expect(try await browser.script("return document.querySelector('#timeline tbody tr:last-child').className;") as? String == "milestone")
        #expect(try await browser.text("#timeline tbody tr:last-child").contains("c2"))

        // The picture's hosts are lit as they act: ws-01's call outside lights it (in red), and no other.
        #expect(try await browser.script("return document.querySelectorAll('#topology .host.acting').length;") as? Int == 0)
        let outward = #"{"time":"2026-12-01T10:00:10.000Z","kind":"flow","network":"lan","src":{"host":"ws-01","address":"10.93.1.2"},"dst":{"host":null,"address":"198.51.100.7"},"outside":true,"detail":{"protocol":"tcp","port":443,"state":"new"}}"#
        let more = try #require(FileHandle(forWritingAtPath: runs + "/watched/timeline.jsonl"))
        try more.seekToEnd()
        try more.write(contentsOf: Data((outward + "\n").utf8))
        try more.close()
        try await browser.wait(until: "document.querySelectorAll('#timeline tbody tr').length === 4")
        #expect(try await browser.text("#timeline tbody tr:last-child").contains("ws-01 (10.93.1.2)"))
        #expect(try await browser.script("return Array.from(document.querySelectorAll('#topology .host.acting')).map(function (n) { return n.dataset.host + (n.classList.contains('outward') ? '!' : ''); }).join(' ');") as? String == "ws-01!")
        try await browser.wait(until: "document.querySelectorAll('#topology .host.acting').length === 0", timeout: 10)

        // A run started from the page: the sample picked, the person chosen, the run a job followed
        // there (on the test driver it stops before delivering, saying why), the sample not kept.
        let sample = runs + "/beacon.sh"
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: URL(fileURLWithPath: sample))
        #expect(try await browser.text("#to").contains("Taro Sato"))
        try await browser.type(sample, into: "#sample")
        try await browser.click("#start-run")
        try await browser.acceptDialog()
        try await browser.wait(until: "document.body.dataset.jobDone !== undefined", timeout: 60)
        #expect(try await browser.script("return document.body.dataset.jobDone;") as? String == "failed")
        #expect(try await browser.text("#events").contains("is not running"))
        let jobs = try await admin.get("/api/v1/jobs").array
        #expect(jobs.contains { $0["kind"] as? String == "run" && $0["environment"] as? String == "watched" }, "\(jobs)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: server.data + "/samples")) ?? []).isEmpty, "the staged sample is removed")
    }
}
