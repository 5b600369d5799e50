import Foundation
import Testing

/// The shipped `office` topology on the project's own images, end to end: one host of every
/// recipe comes up healthy with its protocol probes, takes its identity from its seed, shows its
/// vendor's hardware, answers exec through the guest agent, and passes its operation tests.
extension EndToEnd {
@Suite struct DecoyHostTests {
    /// office.yaml under its own name and the tests' addresses (10.185.x, clear of the demo's).
    static func office(_ environment: String, edit: (String) -> String = { $0 }) throws -> String {
        let source = try String(contentsOfFile: Lab.projectRoot + "/topologies/office.yaml", encoding: .utf8)
        let renamed = source.replacingOccurrences(of: "\nname: office\n", with: "\nname: \(environment)\n").replacingOccurrences(of: "10.78.", with: "10.185.")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(edit(renamed).utf8).write(to: URL(fileURLWithPath: folder + "/office.yaml"))
        return folder + "/office.yaml"
    }

    @Test func everyImageComesUpAsTheCompanysHostAndPassesItsOperationTests() throws {
        let environment = "e2e-office"
        let file = try Self.office(environment) { text in
            // One more check that passes (a closed port reads closed) and one that must fail.
            text + "  - { from: ws-02, to: fw, port: 23, expect: closed }\n  - { from: ws-02, to: fw, port: 24, expect: open }\n"
        }
        defer { _ = try? Lab.decoynet(["destroy", environment]) }

        let applied = try Lab.decoynet(["apply", file, "--json"], timeout: 1200)
        #expect(applied.status == 0, "\(applied.stderr)\n\(applied.stdout.suffix(3000))")
        let report = try #require(try Lab.json(applied.stdout) as? [String: Any])
        let health = try #require(report["health"] as? [[String: Any]])
        #expect(health.count == 10)
        for host in health {
            let results = try #require(host["probes"] as? [[String: Any]])
            #expect(results.allSatisfy { $0["passed"] as? Bool == true }, "\(host["host"] ?? "?"): \(results)")
        }

        // Each service answers as the real one: the probes that passed spoke each protocol.
        let probes = Set(health.flatMap { ($0["probes"] as? [[String: Any]] ?? []).compactMap { $0["probe"] as? String } })
        #expect(probes.isSuperset(of: ["ssh", "smtp", "imap", "smb", "mysql", "dns:ns.harbor.example", "http:80/about.html", "tcp:3128", "tcp:3389"]))

        // Identity from the seed: exec through the guest agent returns the host's own name.
        let hostname = try Lab.decoynet(["exec", environment, "mail", "--", "hostname", "--fqdn"])
        #expect(hostname.status == 0 && hostname.stdout == "mail.harbor.example\n", "\(hostname)")
        let failing = try Lab.decoynet(["exec", environment, "db", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(failing.status == 3 && failing.stdout == "out\n" && failing.stderr == "err\n", "\(failing)")

        // Hardware that does not say QEMU: the environment's Dell, and the host's own Lenovo.
        let dell = try Lab.decoynet(["exec", environment, "www", "--", "dmidecode", "-s", "system-manufacturer"])
        #expect(dell.stdout == "Dell Inc.\n", "\(dell)")
        let lenovo = try Lab.decoynet(["exec", environment, "it", "--", "cat", "/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name"])
        #expect(lenovo.stdout == "LENOVO\nThinkSystem SR630\n", "\(lenovo)")
        let links = try Lab.decoynet(["exec", environment, "it", "--", "ip", "-br", "link"])
        #expect(links.stdout.contains(" 10:c5:95:"), "\(links.stdout)")
        let disk = try Lab.decoynet(["exec", environment, "www", "--", "lsblk", "-dno", "VENDOR,MODEL", "/dev/sda"])
        #expect(disk.stdout.contains("DELL") && disk.stdout.contains("PERC H730P Mini"), "\(disk.stdout)")

        // Every host made its own SSH host key.
        var fingerprints = Set<String>()
        for host in ["www", "mail", "it"] {
            let key = try Lab.decoynet(["exec", environment, host, "--", "ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub"])
            fingerprints.insert(String(key.stdout.split(separator: " ").dropFirst().first ?? ""))
        }
        #expect(fingerprints.count == 3)

        // The owner's account and file on their PC.
        let todo = try Lab.decoynet(["exec", environment, "ws-01", "--", "sh", "-c", "stat -c %U /home/tsato/Documents/todo.txt; cat /home/tsato/Documents/todo.txt"])
        #expect(todo.stdout == "tsato\nTaro Sato: call the Harbor Logistics Ltd. auditors\n", "\(todo)")

        // Operation tests: every probe and check passes but the one made to fail, which fails
        // `test` with its reason.
        let tested = try Lab.decoynet(["test", environment, "--json"], timeout: 600)
        #expect(tested.status == 1)
        let results = try #require(try Lab.json(tested.stdout) as? [[String: Any]])
        let checks = results.filter { $0["kind"] as? String == "check" }
        #expect(checks.count == 6)
        let failed = results.filter { $0["passed"] as? Bool != true }
        #expect(failed.count == 1 && failed.first?["test"] as? String == "fw:24 open", "\(failed)")
        #expect(failed.first?["detail"] as? String == "closed (refused)")
        let closed = try #require(checks.first { $0["test"] as? String == "fw:23 closed" })
        #expect(closed["passed"] as? Bool == true && closed["detail"] as? String == "closed (refused)")
        let resolved = try #require(checks.first { ($0["test"] as? String)?.hasPrefix("resolve www.harbor.example") == true })
        #expect(resolved["passed"] as? Bool == true && resolved["detail"] as? String == "resolves to 10.185.1.10")

        // Reset from memory: apply kept each host's clean state when it turned healthy; a PC and a
        // server come back from it, not from a boot, clean, with their clocks and leases current.
        for host in ["ws-01", "www"] {
            #expect(FileManager.default.fileExists(atPath: "/var/lib/decoynet/clean/\(environment)/\(host)/memory.save"), "\(host)")
            #expect(try Lab.decoynet(["exec", environment, host, "--", "sh", "-c", "echo infected > /root/marker; sync"]).status == 0)
        }
        let evidence = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: evidence) }
        let reset = try Lab.decoynet(["reset", environment, "ws-01", "www", "--evidence", evidence, "--json"], timeout: 600)
        #expect(reset.status == 0, "\(reset.stderr)\(reset.stdout)")
        let resetReport = try #require(try Lab.json(reset.stdout) as? [String: Any])
        #expect(resetReport["restored"] as? [String] == ["ws-01", "www"], "\(resetReport)")
        let resetHealth = try #require(resetReport["health"] as? [[String: Any]])
        #expect(resetHealth.count == 2 && resetHealth.allSatisfy { ($0["probes"] as? [[String: Any]])?.allSatisfy { $0["passed"] as? Bool == true } == true },
                "\(resetHealth)")
        for host in ["ws-01", "www"] {
            let marker = try Lab.decoynet(["exec", environment, host, "--", "sh", "-c", "test -e /root/marker && echo infected || echo clean; date +%s"])
            let lines = marker.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "clean", "\(host): \(marker)")
            let skew = abs((Double(lines.last ?? "") ?? 0) - Date().timeIntervalSince1970)
            #expect(skew < 10, "\(host)'s clock is \(skew) s off after the restore")
        }
        #expect(try Lab.decoynet(["exec", environment, "ws-01", "--", "cat", "/home/tsato/Documents/todo.txt"]).stdout.contains("Taro Sato"))
        let kept = try #require(resetReport["evidence"] as? String)
        #expect(try Lab.run(["sh", "-c", "cd '\(kept)' && sha256sum -c --quiet SHA256SUMS"]).status == 0)

        // A damaged state falls back to a boot with a warning, never a broken host.
        let save = "/var/lib/decoynet/clean/\(environment)/ws-01/memory.save"
        try FileHandle(forWritingAtPath: save).map { handle in
            try handle.truncate(atOffset: 4096)
            try handle.close()
        }
        let damaged = try Lab.decoynet(["reset", environment, "ws-01", "--json"], timeout: 600)
        #expect(damaged.status == 0, "\(damaged.stderr)\(damaged.stdout)")
        let damagedReport = try #require(try Lab.json(damaged.stdout) as? [String: Any])
        #expect((damagedReport["warnings"] as? [String])?.first?.hasPrefix("ws-01: its clean state did not restore") == true, "\(damagedReport)")
        #expect(damagedReport["restored"] as? [String] == [], "\(damagedReport)")
        #expect(try Lab.decoynet(["exec", environment, "ws-01", "--", "hostname"]).stdout == "ws-01\n")

        _ = try Lab.decoynet(["destroy", environment])
        #expect(try Lab.leftovers(environment).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/decoynet/clean/\(environment)"))
    }
}
}
