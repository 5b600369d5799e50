import Foundation
import Testing

/// Warm templates on the project's images: six PCs of one image and three servers of another are
/// restored from their image's template instead of booted, each then its own host.
extension EndToEnd {
@Suite struct TemplateTests {
    static let environment = "e2e-warm"

    static func topology(pcMemory: Int? = nil) -> String {
        """
        name: \(environment)
        description: Six PCs and three servers restored from warm templates
        organization: Warm Start Ltd.
        domain: warm.example
        people:
          - { generate: 7, seed: 11 }
        networks:
          lan: { cidr: 10.187.1.0/24 }
        hosts:
          srv:
            template: linux-server
            count: 3
            interfaces: [{ network: lan }]
          ws:
            template: workstation
            count: 6
            owner: auto
            services: [rdp]
            interfaces: [{ network: lan }]\(pcMemory.map { "\n    memory: \($0)" } ?? "")
        checks:
          - { from: ws-01, to: srv-02, port: 22, expect: open }
          - { from: ws-06, to: ws-03, port: 3389, expect: open }

        """
    }

    static func write(_ text: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/warm.yaml"))
        return folder + "/warm.yaml"
    }

    static func templates(_ image: String) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/decoynet/images/\(image)/templates")) ?? []).filter { !$0.contains(".") })
    }

    @Test func hostsRestoredFromTheirImagesTemplateAreEachTheirOwn() throws {
        let environment = Self.environment
        defer { _ = try? Lab.decoynet(["destroy", environment]) }
        // From no templates: the first host of each image makes its template.
        for image in ["workstation", "linux-server"] { try? FileManager.default.removeItem(atPath: "/var/lib/decoynet/images/\(image)/templates") }
        let file = try Self.write(Self.topology())
        let applied = try Lab.decoynet(["apply", file, "--json"], timeout: 1800)
        #expect(applied.status == 0, "\(applied.stderr.suffix(3000))\n\(applied.stdout.suffix(3000))")
        let report = try #require(try Lab.json(applied.stdout) as? [String: Any])
        let health = try #require(report["health"] as? [[String: Any]])
        #expect(health.count == 9)
        for host in health {
            let probes = host["probes"] as? [[String: Any]] ?? []
            #expect(probes.allSatisfy { $0["passed"] as? Bool == true }, "\(host["host"] ?? "?"): \(probes)")
            // Every host was restored, none booted.
            let image = (host["host"] as? String ?? "").hasPrefix("ws") ? "workstation" : "linux-server"
            #expect((host["restoredFrom"] as? String)?.hasPrefix(image + "/") == true, "\(host["host"] ?? "?") was not restored: \(host)")
        }
        let first = Set(health.filter { ($0["host"] as? String ?? "").hasPrefix("ws") }.compactMap { $0["restoredFrom"] as? String })
        #expect(first.count == 1, "six PCs of one layout, one template: \(first)")
        #expect(Self.templates("workstation") == Set(first.map { String($0.split(separator: "/").last ?? "") }))

        // Each its own: MAC (the domain's, inside the guest), address, hostname, machine-id, random
        // bytes, SSH host key; and its clock is now.
        let probe = "cat /sys/class/net/e*/address; hostname; cat /etc/machine-id; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; "
            + "ip -4 -o addr show scope global | awk '{print $4}'; date +%s; cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | cut -d' ' -f2"
        var seen: [String: Set<String>] = [:]
        for host in (1 ... 6).map({ "ws-0\($0)" }) + (1 ... 3).map({ "srv-0\($0)" }) {
            let output = try Lab.decoynet(["exec", environment, host, "--", "sh", "-c", probe])
            #expect(output.status == 0, "\(host): \(output)")
            let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard lines.count >= 6 else {
                Issue.record("\(host): \(output.stdout)")
                continue
            }
            let domainXML = try Lab.virsh(["dumpxml", "\(environment)-\(host)"])
            #expect(domainXML.contains("<mac address='\(lines[0])'/>"), "\(host) shows MAC \(lines[0]) inside")
            #expect(lines[1] == host)
            #expect(lines[2].count == 32, "\(host)'s machine-id: \(lines[2])")
            #expect(lines[4].hasPrefix("10.187.1."), "\(host): \(lines[4])")
            let skew = abs((Double(lines[5]) ?? 0) - Date().timeIntervalSince1970)
            #expect(skew < 10, "\(host)'s clock is \(skew) s off")
            for (what, value) in [("mac", lines[0]), ("machine-id", lines[2]), ("random", lines[3]), ("address", lines[4])] {
                #expect(seen[what, default: []].insert(value).inserted, "\(host) shares its \(what) \(value) with another clone")
            }
            if host.hasPrefix("srv") {
                // The journal is the clone's own: one folder, named by its machine-id, where the
                // kernel's lines are read (a firewall's drops are read so).
                let journal = try Lab.decoynet(["exec", environment, host, "--", "sh", "-c",
                                                "ls /var/log/journal /run/log/journal 2>/dev/null | grep -x '[0-9a-f]\\{32\\}'; journalctl -k -q --no-pager | grep -c ' kernel: '"])
                let found = journal.stdout.split(separator: "\n").map(String.init)
                #expect(found.first == lines[2] && found.count == 2 && (Int(found.last ?? "") ?? 0) > 10, "\(host)'s journal: \(journal)")
                #expect(lines.count > 6 && !lines[6].isEmpty, "\(host) has no SSH host key")
                #expect(seen["ssh", default: []].insert(lines.count > 6 ? lines[6] : "").inserted, "\(host) shares its SSH host key")
                // Nothing failed at its start: an attacker's `systemctl --failed` shows no unit of ours,
                // as on a server that was never cloned.
                let failed = try Lab.decoynet(["exec", environment, host, "--", "systemctl", "--failed", "--no-legend", "--plain"])
                #expect(failed.status == 0 && failed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(host): \(failed)")
            }
        }

        // The topology's checks pass.
        let tested = try Lab.decoynet(["test", environment, "--json"], timeout: 600)
        #expect(tested.status == 0, "\(tested.stdout.suffix(3000))")

        // A clone reset by boot boots from its image, not from its template's held disk.
        let cold = try Lab.decoynet(["reset", environment, "ws-02", "--cold", "--json"], timeout: 600)
        #expect(cold.status == 0, "\(cold.stderr)\(cold.stdout)")
        let volume = try Lab.virsh(["vol-dumpxml", "--pool", "decoynet-\(environment)", "\(environment)-ws-02.qcow2"])
        #expect(volume.contains("/images/workstation/disk.qcow2</path>"), "\(volume)")
        #expect(try Lab.decoynet(["exec", environment, "ws-02", "--", "hostname"]).stdout == "ws-02\n")

        // A changed layout makes a new template instead of reusing the old one.
        let changed = try Lab.decoynet(["apply", try Self.write(Self.topology(pcMemory: 128)), "--json"], timeout: 1800)
        #expect(changed.status == 0, "\(changed.stderr.suffix(3000))")
        let rehealth = try #require((try Lab.json(changed.stdout) as? [String: Any])?["health"] as? [[String: Any]])
        let second = Set(rehealth.filter { ($0["host"] as? String ?? "").hasPrefix("ws") }.compactMap { $0["restoredFrom"] as? String })
        #expect(second.count == 1 && second.isDisjoint(with: first), "\(first) then \(second)")
        #expect(Self.templates("workstation").count == 2)

        // A damaged template falls back to a boot with a warning, never a broken host.
        let key = try #require(second.first?.split(separator: "/").last.map(String.init))
        let folder = "/var/lib/decoynet/images/workstation/templates/\(key)"
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/template.json"))) as? [String: Any])
        let save = folder + "/" + (try #require(record["memory"] as? String))
        try FileHandle(forWritingAtPath: save).map { handle in
            try handle.truncate(atOffset: 1 << 20)
            try handle.close()
        }
        let damaged = try Lab.decoynet(["apply", try Self.write(Self.topology(pcMemory: 128).replacingOccurrences(of: "count: 6", with: "count: 7"))],
                                       timeout: 1800)
        #expect(damaged.status == 0, "\(damaged.stderr.suffix(3000))")
        #expect(damaged.stderr.contains("warning: ws-07 boots: the warm template of workstation did not restore"), "\(damaged.stderr.suffix(3000))")
        #expect(try Lab.decoynet(["exec", environment, "ws-07", "--", "hostname"]).stdout == "ws-07\n")
        // The clones made from it run on, on its disk, which stays.
        #expect(FileManager.default.fileExists(atPath: folder + "/" + (record["disk"] as? String ?? "?")))
        #expect(try Lab.decoynet(["exec", environment, "ws-03", "--", "hostname"]).stdout == "ws-03\n")

        _ = try Lab.decoynet(["destroy", environment])
        #expect(try Lab.leftovers(environment).isEmpty)
        #expect(!(try Lab.virsh(["list", "--all", "--name"]).contains("decoynet-template-")))
    }
}
}
