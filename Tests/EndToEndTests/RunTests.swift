import Foundation
import TestSupport
import Testing

/// An infection run end to end on `topologies/infection.yaml`: the simulated internet answers the
/// office and not the servers, the network is watched from outside, a sample mailed to a person
/// and opened on their PC is seen calling home, the run ends on it and resets the PC, and the
/// run's folder holds the mail, the timeline, the captures and a STIX bundle, every file hashed.
extension EndToEnd {
@Suite struct RunTests {
    static let environment = "e2e-infect"

    /// The example under the tests' name and addresses (another copy may run beside it).
    static func topology() throws -> (file: String, folder: String) {
        let source = try String(contentsOfFile: Lab.projectRoot + "/topologies/infection.yaml", encoding: .utf8)
        let renamed = source.replacingOccurrences(of: "\nname: infection\n", with: "\nname: \(environment)\n")
            .replacingOccurrences(of: "10.66.", with: "10.188.").replacingOccurrences(of: "203.0.113.", with: "203.0.114.")
            // A weak password, the last word of the test sample's list.
            .replacingOccurrences(of: "title: Account Manager }", with: "title: Account Manager, password: Harbor2026 }")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(renamed.utf8).write(to: URL(fileURLWithPath: folder + "/infection.yaml"))
        return (folder + "/infection.yaml", folder)
    }

    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func detail(_ event: [String: Any]) -> [String: Any] { event["detail"] as? [String: Any] ?? [:] }
    static func host(_ event: [String: Any], _ end: String) -> String? { (event[end] as? [String: Any])?["host"] as? String }

    @Test func aSampleMailedOpenedSeenCallingHomeAndReset() throws {
        let environment = Self.environment
        let (file, folder) = try Self.topology()
        let runs = folder + "/runs"
        defer {
            _ = try? Lab.decoynet(["destroy", environment])
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: "/var/lib/decoynet/runs/" + environment)
        }
        let applied = try Lab.decoynet(["apply", file, "--json"], timeout: 1800)
        #expect(applied.status == 0, "\(applied.stderr.suffix(3000))")
        // Watched from the apply on, by one watcher.
        let watchers = try Lab.run(["pgrep", "-f", "decoynet watcher \(environment) "], timeout: 10).stdout.split(separator: "\n")
        #expect(watchers.count == 1, "\(watchers)")

        // The sinkhole: the office reaches outside addresses through it, the servers do not; an
        // outside name resolves to it.
        let tested = try Lab.decoynet(["test", environment, "--json"], timeout: 600)
        #expect(tested.status == 0, "\(tested.stdout.suffix(3000))")
        let results = try #require(try Lab.json(tested.stdout) as? [[String: Any]])
        let checks = results.filter { $0["kind"] as? String == "check" }
        #expect(checks.count == 5 && checks.allSatisfy { $0["passed"] as? Bool == true }, "\(checks)")

        // Watched live: an event shows in `watch --follow` within 2 s of its packet.
        let follow = try Lab.startDecoynet(["watch", environment, "--follow", "--json", "--kind", "http"])
        Thread.sleep(forTimeInterval: 1)
        let probe = try Lab.decoynet(["exec", environment, "ws-02", "--", "curl", "-s", "-m", "10", "-o", "/dev/null", "http://198.51.100.9/latency"], timeout: 60)
        #expect(probe.status == 0, "\(probe)")
        var seen: (event: [String: Any], at: Date)?
        let deadline = Date().addingTimeInterval(20)
        while seen == nil, Date() < deadline {
            let text = (try? String(contentsOfFile: follow.folder + "/out", encoding: .utf8)) ?? ""
            if let event = Self.lines(text).first(where: { Self.detail($0)["path"] as? String == "/latency" }) { seen = (event, Date()) }
            usleep(50_000)
        }
        kill(follow.pid, SIGTERM)
        _ = try follow.wait(timeout: 10)
        let latency = try #require(seen, "the request never showed in watch --follow")
        let packet = try #require(ISO8601DateFormatter.withFraction.date(from: latency.event["time"] as? String ?? ""))
        #expect(latency.at.timeIntervalSince(packet) < 2, "shown \(latency.at.timeIntervalSince(packet)) s after its packet")
        #expect(Self.host(latency.event, "src") == "ws-02" && latency.event["outside"] as? Bool == true)

        // The infrastructure's own logs, read from outside through the guest agents: the check from
        // the mail server to the outside was dropped by fw's firewall, which says so (once); a request
        // inside TLS, which no packet shows, is told by INetSim's log on the internet host.
        let secure = try Lab.decoynet(["exec", environment, "ws-02", "--", "curl", "-sk", "-m", "10", "-o", "/dev/null", "https://update.example.org/check?v=2"], timeout: 60)
        #expect(secure.status == 0, "\(secure)")
        var dropped: [[String: Any]] = [], unanswered: [[String: Any]] = [], tls: [String: Any]?
        let logDeadline = Date().addingTimeInterval(30)
        while Date() < logDeadline {
            let seen = Self.lines(try Lab.decoynet(["watch", environment, "--json"], timeout: 60).stdout)
            dropped = seen.filter { $0["by"] as? String == "fw" && Self.host($0, "src") == "mail" && Self.detail($0)["port"] as? Int == 80 }
            unanswered = seen.filter { $0["by"] == nil && Self.host($0, "src") == "mail" && Self.detail($0)["port"] as? Int == 80 && Self.detail($0)["state"] as? String == "dropped" }
            tls = seen.first { $0["by"] as? String == "inet" && Self.detail($0)["path"] as? String == "/check?v=2" }
            if !dropped.isEmpty, tls != nil { break }
            Thread.sleep(forTimeInterval: 2)
        }
        #expect(dropped.count == 1 && (dropped.first?["dst"] as? [String: Any])?["address"] as? String == "198.51.100.7"
            && Self.detail(dropped.first ?? [:])["state"] as? String == "dropped", "\(dropped)")
        // Long after the packets' own verdict (3 s unanswered, held 4 s for the firewall's line).
        Thread.sleep(forTimeInterval: 8)
        unanswered = Self.lines(try Lab.decoynet(["watch", environment, "--json", "--kind", "flow", "--host", "mail"], timeout: 60).stdout).filter {
            $0["by"] == nil && Self.detail($0)["port"] as? Int == 80 && Self.detail($0)["state"] as? String == "dropped"
        }
        #expect(unanswered.isEmpty, "told by the firewall, not again by the packets: \(unanswered)")
        #expect(tls.map { Self.host($0, "src") == "ws-02" && Self.detail($0)["host"] as? String == "update.example.org" && Self.detail($0)["status"] as? Int == 200 } == true,
                "\(String(describing: tls))")

        // Bad input: nothing delivered, exit status 2.
        let nobody = try Lab.decoynet(["run", environment, "--sample", Lab.projectRoot + "/Tests/EndToEndTests/Samples/beacon.sh", "--to", "nobody",
                                       "--runs", "/var/lib/decoynet/runs"])
        #expect(nobody.status == 2 && nobody.stderr.contains("no person 'nobody' in \(environment)"), "\(nobody)")
        let large = folder + "/large.bin"
        FileManager.default.createFile(atPath: large, contents: nil)
        try FileHandle(forWritingAtPath: large)?.truncate(atOffset: 65 << 20)
        let tooLarge = try Lab.decoynet(["run", environment, "--sample", large, "--to", "tsato"])
        #expect(tooLarge.status == 2 && tooLarge.stderr.contains("over the limit of 64 MiB"), "\(tooLarge)")

        // The run: mailed from outside, opened as tsato on ws-01, ended by its call home, reset.
        let sample = Lab.projectRoot + "/Tests/EndToEndTests/Samples/beacon.sh"
        let ran = try Lab.decoynet(["run", environment, "--sample", sample, "--to", "tsato", "--open", "--until", "c2", "--for", "5m",
                                    "--then", "reset", "--evidence", runs, "--json"], timeout: 900)
        #expect(ran.status == 0, "\(ran.stderr.suffix(3000))")
        let record = try #require(try Lab.json(ran.stdout) as? [String: Any])
        #expect(record["ended_by"] as? String == "c2")
        #expect(record["delivered_to"] as? String == "tsato@corp.harbor.example")
        #expect(record["opened_on"] as? [String] == ["ws-01"])
        let milestones = try #require(record["milestones"] as? [[String: Any]])
        // Its SMB logons to the file server are its first move to another host: lateral, before its call home.
        #expect(milestones.map { $0["name"] as? String ?? "" } == ["delivered", "opened", "lateral", "c2", "ended"])
        let times = milestones.compactMap { ($0["time"] as? String).flatMap(ISO8601DateFormatter.withFraction.date) }
        #expect(times.count == 5 && times[4].timeIntervalSince(times[3]) < 5, "ended \(times) after the call home")
        let sampleHash = try #require((record["sample"] as? [String: Any])?["sha256"] as? String)

        // The run's folder: everything hashed, sealed, the timeline attributing each move.
        let runFolder = try #require(record["folder"] as? String)
        #expect(runFolder.hasPrefix(runs + "/"))
        let sums = try Lab.run(["sh", "-c", "cd '\(runFolder)' && sha256sum -c --quiet SHA256SUMS"], timeout: 120)
        #expect(sums.status == 0, "\(sums)")
        for name in ["sample/beacon.sh", "mail.eml", "timeline.jsonl", "pcap/office.pcap", "pcap/outside.pcap", "stix.json", "run.json"] {
            #expect(FileManager.default.fileExists(atPath: runFolder + "/" + name), "\(name)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: runFolder)[.posixPermissions] as? Int
        #expect(mode == 0o500)
        let timeline = Self.lines(try String(contentsOfFile: runFolder + "/timeline.jsonl", encoding: .utf8))
        let mail = try #require(timeline.first { $0["kind"] as? String == "smtp" }, "\(timeline)")
        #expect(Self.host(mail, "src") == "inet" && Self.host(mail, "dst") == "mail")
        #expect(Self.detail(mail)["to"] as? [String] == ["tsato@corp.harbor.example"])
        #expect(timeline.contains { $0["kind"] as? String == "dns" && Self.host($0, "src") == "ws-01" && Self.detail($0)["query"] as? String == "c2.example.net" })
        let beacon = try #require(timeline.first { $0["kind"] as? String == "http" && Self.detail($0)["path"] as? String == "/beacon?host=ws-01" }, "\(timeline)")
        #expect(Self.host(beacon, "src") == "ws-01" && Self.detail(beacon)["host"] as? String == "c2.example.net" && Self.detail(beacon)["status"] as? Int == 200)
        #expect(timeline.filter { $0["kind"] as? String == "milestone" }.map { Self.detail($0)["name"] as? String ?? "" } == ["delivered", "opened", "lateral", "c2", "ended"])
        // The word list against the file server, as tsato from ws-01: wrong words refused, the last one taken.
        let logons = timeline.filter { $0["kind"] as? String == "smb-auth" && Self.detail($0)["user"] as? String == "tsato" }
        #expect(logons.allSatisfy { Self.host($0, "src") == "ws-01" && Self.host($0, "dst") == "files" }, "\(logons)")
        let outcomes = logons.map { Self.detail($0)["result"] as? String ?? "" }
        #expect(outcomes.filter { $0 == "failed" }.count >= 3 && outcomes.last == "ok", "\(logons)")
        let lateral = try #require(milestones.first { $0["name"] as? String == "lateral" }?["event"] as? [String: Any])
        #expect(Self.host(lateral, "src") == "ws-01" && Self.host(lateral, "dst") == "files", "\(lateral)")
        let stix = try String(contentsOfFile: runFolder + "/stix.json", encoding: .utf8)
        #expect(stix.contains("\"value\":\"c2.example.net\"") && stix.contains(sampleHash))
        let python = try Lab.run([Lab.projectRoot + "/scripts/python-env.sh"], timeout: 600).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let strict = try Lab.run([python, Lab.projectRoot + "/Tests/ObserveTests/Python/check_stix.py", runFolder + "/stix.json"], timeout: 120)
        #expect(strict.status == 0 && strict.stdout.contains("domain-name c2.example.net"), "\(strict)")

        // The PC is clean again: what the sample left is gone; it is kept in the reset's evidence.
        let reset = try #require(record["reset"] as? String)
        #expect(reset.hasPrefix(runFolder + "/reset/") && FileManager.default.fileExists(atPath: reset + "/manifest.json"))
        var clean: Lab.Output?
        let agentDeadline = Date().addingTimeInterval(300)
        while Date() < agentDeadline {
            clean = try Lab.decoynet(["exec", environment, "ws-01", "--", "sh", "-c", "ls /home/tsato/.cache-update /home/tsato/Downloads/beacon.sh"], timeout: 60)
            if clean?.stderr.contains("No such file") == true { break }
            Thread.sleep(forTimeInterval: 3)
        }
        #expect(clean?.status != 0 && clean?.stdout.isEmpty == true, "\(String(describing: clean))")
        // What it left on the file server stays: the note on tsato's share, written with the word that worked.
        let note = try Lab.decoynet(["exec", environment, "files", "--", "cat", "/home/tsato/note-ws-01.txt"], timeout: 60)
        #expect(note.status == 0 && note.stdout.hasPrefix("from ws-01 at "), "\(note)")

        try Self.runThroughTheAPI(file: file, sample: sample)
        try Self.forensicsDuringARun(runs: runs, folder: folder, reset: reset)

        // Destroyed: nothing left, the watcher stopped, the timeline kept aside (no longer the name's).
        let destroyed = try Lab.decoynet(["destroy", environment])
        #expect(destroyed.status == 0)
        let left = try Lab.leftovers(environment)
        #expect(left.isEmpty, "\(left)")
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/decoynet/runs/\(environment)"))
        let kept = try #require(destroyed.stderr.components(separatedBy: "are kept in ").last?.split(separator: "\n").first.map(String.init), "\(destroyed.stderr)")
        #expect(kept.hasPrefix("/var/lib/decoynet/runs/\(environment).destroyed-") && FileManager.default.fileExists(atPath: kept + "/timeline.jsonl"))
        try? FileManager.default.removeItem(atPath: kept)
    }

    /// The same run as one API call: the server (in the lab's namespace, with the same runs folder)
    /// takes the environment's topology, finds nothing to apply, runs the multipart form as a job,
    /// and streams the timeline, milestones included, over Server-Sent Events.
    static func runThroughTheAPI(file: String, sample: String) throws {
        let server = try ServerProcess(arguments: ["--connect", "qemu:///system"], prefix: ["/usr/sbin/ip", "netns", "exec", Lab.namespace])
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: server.data)
        }
        let api = ServerEndToEndTests.API(base: server.base, token: server.adminToken)
        let source = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try api.json("POST", "/api/v1/environments", body: source, type: "application/yaml").status == 201)
        let apply = try #require(try api.json("POST", "/api/v1/environments/\(environment)/apply").value as? [String: Any])
        let applied = try api.waitForJob(try #require(apply["id"] as? String))
        #expect(applied["state"] as? String == "succeeded", "\(applied)")

        let follow = try Lab.start(["ip", "netns", "exec", Lab.namespace, "curl", "-sN", "-H", "Authorization: Bearer \(api.token)",
                                    api.base + "/api/v1/environments/\(environment)/events?follow=true&limit=0"])
        defer {
            kill(follow.pid, SIGTERM)
            _ = try? follow.wait(timeout: 10)
        }
        Thread.sleep(forTimeInterval: 1)
        let posted = try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "-H", "Authorization: Bearer \(api.token)",
                                  "-F", "sample=@\(sample)", "-F", "to=tsato", "-F", "open=true", "-F", "until=c2", "-F", "for=5m", "-F", "then=reset",
                                  api.base + "/api/v1/environments/\(environment)/runs"], timeout: 60)
        let job = try #require(try Lab.json(posted.stdout) as? [String: Any], "\(posted)")
        #expect(job["kind"] as? String == "run")
        let ended = try api.waitForJob(try #require(job["id"] as? String), timeout: 900)
        #expect(ended["state"] as? String == "succeeded", "\(ended)")
        let run = try #require(ended["outcome"] as? [String: Any], "\(ended)")
        #expect(run["ended_by"] as? String == "c2" && run["opened_on"] as? [String] == ["ws-01"], "\(run)")
        let id = try #require(run["id"] as? String)
        let (status, stix) = try api.call("GET", "/api/v1/runs/\(id)/stix")
        #expect(status == 200 && stix.contains("\"value\":\"c2.example.net\""), "\(status)")
        let runs = try #require(try api.json("GET", "/api/v1/environments/\(environment)/runs").value as? [[String: Any]])
        // The first run was kept in the test's own folder (`--evidence`), this one in the environment's.
        #expect(runs.map { $0["id"] as? String } == [id], "\(runs)")

        // The stream: the run's milestones and the beacon, as they came.
        let streamed = (try? String(contentsOfFile: follow.folder + "/out", encoding: .utf8)) ?? ""
        var events: [(kind: String, object: [String: Any])] = []
        for block in streamed.components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n").map(String.init)
            guard let kind = lines.first(where: { $0.hasPrefix("event: ") }), let data = lines.first(where: { $0.hasPrefix("data: ") }),
                  let object = try? JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any] else { continue }
            events.append((String(kind.dropFirst(7)), object))
        }
        let marks: [String] = events.filter { $0.kind == "milestone" }.map { detail($0.object)["name"] as? String ?? "" }
        #expect(marks.filter { ["delivered", "opened", "c2", "ended"].contains($0) } == ["delivered", "opened", "c2", "ended"], "\(streamed.suffix(3000))")
        let beacon = events.first { $0.kind == "http" && detail($0.object)["path"] as? String == "/beacon?host=ws-01" }
        #expect(beacon.map { host($0.object, "src") } == "ws-01", "\(streamed.suffix(3000))")
    }

    /// A sample that stays, seen from outside while its run goes on: the PC snapshotted, its process
    /// (command line, user), its connection to the internet host and the file it dropped (SHA-256) read
    /// from the snapshot, the base image's files not listed, and the file in the run's timeline. A
    /// reset's evidence (the first run's) is read too.
    static func forensicsDuringARun(runs: String, folder: String, reset: String) throws {
        let sample = Lab.projectRoot + "/Tests/EndToEndTests/Samples/implant.sh"
        let running = try Lab.startDecoynet(["run", environment, "--sample", sample, "--to", "tsato", "--open", "--for", "15m",
                                             "--then", "keep", "--evidence", runs, "--json"])
        var stopped = false
        defer { if !stopped { kill(running.pid, SIGKILL); _ = try? running.wait(timeout: 10) } }
        var implant: Lab.Output?
        let deadline = Date().addingTimeInterval(420)
        while Date() < deadline {
            implant = try Lab.decoynet(["exec", environment, "ws-01", "--", "pgrep", "-u", "tsato", "-f", "^nc c2.example.net 4444"], timeout: 60)
            if implant?.status == 0 { break }
            Thread.sleep(forTimeInterval: 3)
        }
        #expect(implant?.status == 0, "the implant never ran: \(String(describing: implant)) \((try? String(contentsOfFile: running.folder + "/err", encoding: .utf8)) ?? "")")
        let implantPID = Int(implant?.stdout.split(separator: "\n").first ?? "") ?? -1

        let snapshots = folder + "/snapshots"
        let taken = try Lab.decoynet(["snapshot", environment, "ws-01", "--evidence", snapshots, "--json"], timeout: 300)
        #expect(taken.status == 0, "\(taken)")
        let snapshot = try #require((try Lab.json(taken.stdout) as? [[String: Any]])?.first?["folder"] as? String, "\(taken)")
        let record = try #require(try Lab.json(try String(contentsOfFile: snapshot + "/snapshot.json", encoding: .utf8)) as? [String: Any])
        #expect((record["paused_ms"] as? Int).map { $0 > 0 && $0 < 30_000 } == true, "\(record)")

        func rows(_ view: String, _ from: String = snapshot) throws -> [[String: Any]] {
            let read = try Lab.decoynet(["forensics", from, view, "--json"], timeout: 600)
            #expect(read.status == 0, "\(view): \(read.stderr.suffix(2000))")
            return try #require(try Lab.json(read.stdout) as? [[String: Any]], "\(view): \(read.stdout.prefix(500))")
        }
        let processes = try rows("processes")
        let nc = processes.first { $0["pid"] as? Int == implantPID }
        #expect(nc?["command"] as? String == "nc c2.example.net 4444" && nc?["user"] as? String == "tsato" && nc?["name"] as? String == "nc",
                "\(implantPID): \(processes.filter { ($0["uid"] as? Int ?? 0) != 0 })")
        #expect(processes.contains { $0["pid"] as? Int == 1 } && processes.count > 20)
        let connections = try rows("connections")
        let call = connections.first { $0["pid"] as? Int == implantPID }
        #expect(call?["protocol"] as? String == "tcp" && (call?["remote"] as? String)?.hasSuffix(":4444") == true, "\(connections)")
        let modules = try rows("modules")
        #expect(modules.contains { $0["name"] as? String == "virtio_net" } && modules.allSatisfy { ($0["size"] as? Int ?? 0) > 0 }, "\(modules)")

        let files = try rows("files")
        let dropped = files.first { $0["path"] as? String == "/home/tsato/.config/updater/state.dat" }
        let expected = String(try Lab.run(["sh", "-c", "printf 'decoynet forensics test on ws-01\\n' | sha256sum"], timeout: 10).stdout.prefix(64))
        #expect(dropped?["change"] as? String == "added" && dropped?["sha256"] as? String == expected && dropped?["user"] as? String == "tsato",
                "\(files.filter { ($0["path"] as? String ?? "").hasPrefix("/home") })")
        // What the image brought is not listed: only what the host changed (its identity, logs, home).
        #expect(!files.contains { ["/usr/bin/curl", "/usr/bin/smbclient", "/etc/os-release"].contains($0["path"] as? String ?? "") }, "\(files.count)")
        #expect(files.count < 400, "\(files.map { $0["path"] as? String ?? "" })")

        // The run, ended by hand, holds the dropped file in its timeline.
        kill(running.pid, SIGINT)
        let ended = try running.wait(timeout: 300)
        stopped = true
        #expect(ended.status == 130, "\(ended.stderr.suffix(2000))")
        let run = try #require(try Lab.json(ended.stdout) as? [String: Any], "\(ended.stdout.suffix(1000))")
        #expect(run["ended_by"] as? String == "interrupted", "\(run)")
        let runFolder = try #require(run["folder"] as? String)
        let timeline = lines(try String(contentsOfFile: runFolder + "/timeline.jsonl", encoding: .utf8))
        let event = timeline.first { $0["kind"] as? String == "file" && detail($0)["path"] as? String == "/home/tsato/.config/updater/state.dat" }
        #expect(event.map { host($0, "src") == "ws-01" && detail($0)["change"] as? String == "added" && detail($0)["sha256"] as? String == expected } == true,
                "\(timeline.filter { $0["kind"] as? String == "file" }.prefix(5))")

        // A reset's evidence: the first run's PC, its disk read; its memory was not kept, which is said.
        let pc = reset + "/ws-01"
        let kept = try rows("files", pc)
        #expect(kept.contains { $0["path"] as? String == "/home/tsato/.cache-update" && $0["change"] as? String == "added" }, "\(kept.count)")
        let noMemory = try Lab.decoynet(["forensics", pc, "processes"], timeout: 60)
        #expect(noMemory.status != 0 && noMemory.stderr.contains("holds no memory image"), "\(noMemory)")
    }
}
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
