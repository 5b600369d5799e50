import Foundation
import Testing

/// The shipped `company` topology end to end: its domain controller knows the company's people,
/// the file server holds their homes, the mail server their mailboxes, and the gateway lets
/// through what the policy allows and nothing else, keeping a log of what it dropped.
extension EndToEnd {
@Suite struct CompanyTests {
    static func company(_ environment: String) throws -> (file: String, folder: String) {
        let source = try String(contentsOfFile: Lab.projectRoot + "/topologies/company.yaml", encoding: .utf8)
        let renamed = source.replacingOccurrences(of: "\nname: company\n", with: "\nname: \(environment)\n").replacingOccurrences(of: "10.79.", with: "10.186.")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(renamed.utf8).write(to: URL(fileURLWithPath: folder + "/company.yaml"))
        return (folder + "/company.yaml", folder)
    }

    /// A person's password as the compiler wrote it into the file server's seed.
    static func password(of user: String, compiled folder: String) throws -> String {
        let userData = try String(contentsOfFile: folder + "/seeds/files/user-data", encoding: .utf8)
        let lines = userData.split(separator: "\n").map(String.init)
        let index = try #require(lines.firstIndex(of: "  - name: \(user)"))
        let line = lines[index + 1]
        #expect(line.hasPrefix("    password: \""))
        return String(line.dropFirst("    password: \"".count).dropLast())
    }

    @Test func theCompanysDirectoryFilesMailAndFirewallWork() throws {
        let environment = "e2e-company"
        let (file, folder) = try Self.company(environment)
        let evidence = folder + "/evidence"
        defer {
            _ = try? Lab.decoynet(["destroy", environment])
            try? FileManager.default.removeItem(atPath: folder)
        }
        #expect(try Lab.decoynet(["compile", file, "-o", folder + "/out"]).status == 0)
        let password = try Self.password(of: "tsato", compiled: folder + "/out")

        let applied = try Lab.decoynet(["apply", file, "--json"], timeout: 1800)
        #expect(applied.status == 0, "\(applied.stderr.suffix(3000))")
        let report = try #require(try Lab.json(applied.stdout) as? [String: Any])
        let health = try #require(report["health"] as? [[String: Any]])
        #expect(health.count == 8 && health.allSatisfy { ($0["probes"] as? [[String: Any]])?.allSatisfy { $0["passed"] as? Bool == true } == true },
                "\(health)")
        // The password never reaches the output.
        #expect(!applied.stdout.contains(password) && !applied.stderr.contains(password))

        // The directory: an LDAP search as the person finds the person, in their department's OU.
        let ldap = try Lab.decoynet(["exec", environment, "dc01", "--", "ldbsearch", "-H", "ldap://10.186.2.10", "-U", "tsato%\(password)",
                                     "(sAMAccountName=tsato)", "distinguishedName", "memberOf", "mail"], timeout: 120)
        #expect(ldap.status == 0, "\(ldap)")
        #expect(ldap.stdout.contains("distinguishedName: CN=Taro Sato,OU=Sales,DC=corp,DC=harbor,DC=example"), "\(ldap.stdout)")
        #expect(ldap.stdout.contains("memberOf: CN=Sales,OU=Sales,DC=corp,DC=harbor,DC=example"))
        // Its DNS serves the domain's SRV records.
        let srv = try Lab.decoynet(["exec", environment, "dc01", "--", "host", "-t", "SRV", "_ldap._tcp.corp.harbor.example", "127.0.0.1"])
        #expect(srv.stdout.contains("389 dc01.corp.harbor.example."), "\(srv)")

        // The person's home share lists their documents.
        let share = try Lab.decoynet(["exec", environment, "files", "--", "smbclient", "//127.0.0.1/tsato", "-U", "tsato%\(password)", "-c", "ls Documents/*"])
        #expect(share.status == 0 && share.stdout.contains("todo.txt") && share.stdout.contains(".csv"), "\(share)")
        // Documents are years old, not minutes.
        let ages = try Lab.decoynet(["exec", environment, "files", "--", "sh", "-c", "find /home/tsato/Documents -type f -mtime +100 | wc -l"])
        #expect(Int(ages.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1, "\(ages)")

        // IMAP login as the person opens a mailbox with their messages.
        let imap = try Lab.decoynet(["exec", environment, "mail", "--", "curl", "-s", "--user", "tsato:\(password)", "--url", "imap://127.0.0.1/", "-X", "EXAMINE INBOX"])
        #expect(imap.status == 0 && imap.stdout.contains("* 3 EXISTS"), "\(imap)")

        // The policy, tested from inside the hosts: allowed services open, the rest closed.
        let tested = try Lab.decoynet(["test", environment, "--json"], timeout: 600)
        #expect(tested.status == 0, "\(tested.stdout)\(tested.stderr)")
        let results = try #require(try Lab.json(tested.stdout) as? [[String: Any]])
        #expect(results.filter { $0["kind"] as? String == "check" }.count == 5)
        // A changed check replaces ws-01; it is healthy only once it has booted again (its lease
        // renewed, its agent answering), so `test` right after the apply passes.
        let changed = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(
            of: "  - { from: ws-01, to: dc01, port: 22, expect: closed }\n",
            with: "  - { from: ws-01, to: dc01, port: 22, expect: closed }\n  - { from: ws-01, to: www, port: 80, expect: open }\n")
        #expect(changed.contains("to: www, port: 80"))
        try Data(changed.utf8).write(to: URL(fileURLWithPath: file))
        let replaced = try Lab.decoynet(["apply", file, "--json"], timeout: 900)
        #expect(replaced.status == 0, "\(replaced.stderr.suffix(3000))")
        let replacedPlan = try #require(((try Lab.json(replaced.stdout) as? [String: Any])?["plans"] as? [[String: Any]])?.first)
        #expect((replacedPlan["summary"] as? [String: Int])?["replace"] == 1, "\(replacedPlan)")
        let retested = try Lab.decoynet(["test", environment, "--json"], timeout: 600)
        #expect(retested.status == 0, "\(retested.stdout)\(retested.stderr)")
        #expect((try Lab.json(retested.stdout) as? [[String: Any]])?.filter { $0["kind"] as? String == "check" }.count == 6)

        // Closed because the firewall dropped it, not because nothing listens: ssh runs on dc01.
        let local = try Lab.decoynet(["exec", environment, "dc01", "--", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && echo open"])
        #expect(local.stdout == "open\n", "\(local)")

        // Reset of the router keeps its drop log as evidence.
        let reset = try Lab.decoynet(["reset", environment, "fw", "--evidence", evidence, "--json"], timeout: 900)
        #expect(reset.status == 0, "\(reset.stderr)")
        let kept = try #require((try Lab.json(reset.stdout) as? [String: Any])?["evidence"] as? String)
        let drops = try String(contentsOfFile: kept + "/fw/firewall-drops.log", encoding: .utf8)
        #expect(drops.contains("decoynet-drop: ") && drops.contains("DPT=22"), "\(drops.suffix(2000))")
        let sums = try Lab.run(["sh", "-c", "cd '\(kept)' && grep -c firewall-drops.log SHA256SUMS && sha256sum -c SHA256SUMS"])
        #expect(sums.status == 0, "\(sums.stdout)\(sums.stderr)")

        // A reset of the whole company from memory: every clean state was kept at one moment, so
        // the directory still knows the file server's machine account, and logons and the share work.
        let whole = try Lab.decoynet(["reset", environment, "--json"], timeout: 900)
        #expect(whole.status == 0, "\(whole.stderr)\(whole.stdout.suffix(2000))")
        let wholeReport = try #require(try Lab.json(whole.stdout) as? [String: Any])
        let folders = try FileManager.default.contentsOfDirectory(atPath: "/var/lib/decoynet/clean/\(environment)").sorted()
        #expect((wholeReport["restored"] as? [String])?.sorted() == folders && folders.contains("dc01") && folders.contains("files"), "\(wholeReport)")
        // The first apply kept them all at one moment; the second kept only the PC it replaced (the
        // others had run on since: not clean any more).
        let moments = try Dictionary(uniqueKeysWithValues: folders.map { host in
            let data = try Data(contentsOf: URL(fileURLWithPath: "/var/lib/decoynet/clean/\(environment)/\(host)/state.json"))
            return (host, (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["kept"] as? String ?? host)
        })
        #expect(Set(moments.filter { $0.key != "ws-01" }.values).count == 1 && moments["ws-01"] != moments["dc01"], "kept at one moment: \(moments)")
        let relogon = try Lab.decoynet(["exec", environment, "dc01", "--", "ldbsearch", "-H", "ldap://10.186.2.10", "-U", "tsato%\(password)",
                                        "(sAMAccountName=tsato)", "distinguishedName"], timeout: 120)
        #expect(relogon.status == 0 && relogon.stdout.contains("CN=Taro Sato,OU=Sales"), "\(relogon)")
        let reshare = try Lab.decoynet(["exec", environment, "files", "--", "smbclient", "//127.0.0.1/tsato", "-U", "tsato%\(password)", "-c", "ls Documents/*"])
        #expect(reshare.status == 0 && reshare.stdout.contains("todo.txt"), "\(reshare)")

        let destroyed = try Lab.decoynet(["destroy", environment])
        #expect(destroyed.status == 0)
        #expect(try Lab.virsh(["list", "--all", "--name"]).contains(environment) == false)
    }
}
}
