import Foundation
import Testing

/// The malware-analysis loop and the classroom, end to end in the lab.
extension EndToEnd {
@Suite struct ResetTests {
    @Test func infectResetWithEvidenceAndTheMarkerIsKeptButGone() throws {
        let environment = "e2e-reset"
        let file = try Lab.topology("quickstart.yaml", as: environment) {
            $0.replacingOccurrences(of: "  lan: { cidr: \(Lab.address("1.0"))/24, gateway: gw }", with: "  lan: { cidr: \(Lab.address("1.0"))/24, gateway: gw, capture: true }")
        }
        let evidence = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-evidence-" + UUID().uuidString).path
        defer {
            _ = try? Lab.decoynet(["destroy", environment])
            try? FileManager.default.removeItem(atPath: evidence)
        }
        let applied = try Lab.decoynet(["apply", file])
        #expect(applied.status == 0, "\(applied.stderr)")

        // "Infect" ws: write a marker to its disk.
        let marker = "infected-" + UUID().uuidString.prefix(8).lowercased()
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "5", "http://\(Lab.address("1.2"))/cgi-bin/write?\(marker)"]).stdout.contains("written: \(marker)"))
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "5", "http://\(Lab.address("1.2"))/cgi-bin/read"]).stdout.contains(marker))
        let gwBefore = try Lab.virsh(["domid", "\(environment)-gw"])
        let webBefore = try Lab.virsh(["domid", "\(environment)-web"])
        let wsBefore = try Lab.virsh(["domid", "\(environment)-ws"])

        // Evidence that would not fit: refused before ws stops, nothing written there.
        let small = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-small-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(try Lab.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small]).status == 0)
        let full = try Lab.decoynet(["reset", environment, "ws", "--evidence", small + "/evidence"])
        _ = try Lab.run(["umount", small])
        try? FileManager.default.removeItem(atPath: small)
        #expect(full.status == 1)
        #expect(full.stderr.contains("free; nothing was stopped: free some space there or give --evidence a folder on a larger disk"), "\(full.stderr)")
        #expect(try Lab.virsh(["domid", "\(environment)-ws"]) == wsBefore, "ws kept running")
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "5", "http://\(Lab.address("1.2"))/cgi-bin/read"]).stdout.contains(marker))

        let reset = try Lab.decoynet(["reset", environment, "ws", "--evidence", evidence, "--json"])
        #expect(reset.status == 0, "\(reset.stderr)\n\(reset.stdout)")
        let report = try #require(try Lab.json(reset.stdout) as? [String: Any])
        let folder = try #require(report["evidence"] as? String)

        // Healthy again, and clean: the marker is gone from the guest.
        #expect((report["health"] as? [[String: Any]])?.count == 1)
        let read = try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "5", "http://\(Lab.address("1.2"))/cgi-bin/read"]).stdout
        #expect(!read.contains(marker))
        // The other hosts were not restarted.
        #expect(try Lab.virsh(["domid", "\(environment)-gw"]) == gwBefore)
        #expect(try Lab.virsh(["domid", "\(environment)-web"]) == webBefore)

        // The kept overlay holds the marker's bytes.
        let raw = evidence + "-ws.raw"
        #expect(try Lab.run(["qemu-img", "convert", "-O", "raw", folder + "/ws/overlay.qcow2", raw]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: raw))
        try FileManager.default.removeItem(atPath: raw)
        #expect(bytes.range(of: Data(marker.utf8)) != nil)

        // The manifest's hashes match the files, and sha256sum agrees.
        let manifest = try #require(try Lab.json(String(contentsOfFile: folder + "/manifest.json", encoding: .utf8)) as? [String: Any])
        #expect(manifest["environment"] as? String == environment)
        #expect((manifest["topologyDigest"] as? String)?.hasPrefix("sha256:") == true)
        let hosts = try #require(manifest["hosts"] as? [[String: Any]])
        let files = try #require(hosts.first?["files"] as? [[String: Any]])
        #expect(Set(files.compactMap { $0["path"] as? String }) == ["ws/domain.xml", "ws/leases.json", "ws/console.log", "ws/overlay.qcow2"])
        let check = try Lab.run(["sh", "-c", "cd '\(folder)' && sha256sum -c SHA256SUMS"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(try String(contentsOfFile: folder + "/ws/leases.json", encoding: .utf8).contains(Lab.address("1.2")))
        // Root's alone, and read-only: folders 0500, files 0400.
        for path in [folder, folder + "/ws"] {
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o500, "\(path)")
        }
        for path in ["manifest.json", "SHA256SUMS", "ws/overlay.qcow2", "ws/domain.xml"] {
            #expect(try FileManager.default.attributesOfItem(atPath: folder + "/" + path)[.posixPermissions] as? Int == 0o400, "\(path)")
        }

        // The capture of lan was closed and kept, and tcpdump reads it; a new one runs.
        let captures = try #require(manifest["captures"] as? [[String: Any]])
        #expect(captures.count == 1)
        let pcap = folder + "/" + (captures.first?["path"] as? String ?? "")
        #expect(((try? FileManager.default.attributesOfItem(atPath: pcap))?[.size] as? Int ?? 0) > 24)
        let dump = try Lab.run(["tcpdump", "-n", "-r", pcap])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains("BOOTP/DHCP") || dump.stdout.contains("ARP"))
        #expect(try Lab.run(["pgrep", "-f", "tcpdump -i .* /var/lib/decoynet/captures/\(environment)/"]).status == 0)

        // A second reset into the same folder adds a new dated folder, never overwriting.
        let second = try Lab.decoynet(["reset", environment, "ws", "--evidence", evidence, "--no-wait", "--json"])
        #expect(second.status == 0)
        let secondFolder = try #require((try Lab.json(second.stdout) as? [String: Any])?["evidence"] as? String)
        #expect(secondFolder != folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: evidence).count == 2)

        // Destroy stops the capture too: nothing is left running or on disk.
        #expect(try Lab.decoynet(["destroy", environment]).status == 0)
        #expect(try Lab.run(["pgrep", "-f", "/var/lib/decoynet/captures/\(environment)/"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: "/var/lib/decoynet/captures/\(environment)"))
        #expect(try Lab.leftovers(environment) == [])
    }

    @Test func threeCopiesAreHealthyDisjointAndDestroyedOneByOne() throws {
        let environment = "e2e-copy"
        let file = try Lab.topology("quickstart.yaml", as: environment)
        defer { _ = try? Lab.decoynet(["destroy", environment, "--instances", "all"]) }
        let applied = try Lab.decoynet(["apply", file, "--instances", "3", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let health = try #require((try Lab.json(applied.stdout) as? [String: Any])?["health"] as? [[String: Any]])
        #expect(health.count == 9)
        let addresses = health.flatMap { $0["addresses"] as? [String] ?? [] }
        #expect(Set(addresses).count == addresses.count, "no address is shared between copies")
        for copy in 1 ... 3 {
            #expect(try Lab.httpGet(Lab.address("1.2", copy: copy)).trimmingCharacters(in: .whitespacesAndNewlines) == "ws")
        }
        let list = try #require(try Lab.json(Lab.decoynet(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(list.filter { $0["instanceOf"] as? String == environment }.count == 3)

        // Destroying one copy leaves the other two untouched.
        let idsBefore = try ["e2e-copy-i1", "e2e-copy-i3"].map { try Lab.virsh(["domid", "\($0)-ws"]) }
        #expect(try Lab.decoynet(["destroy", "e2e-copy-i2"]).status == 0)
        #expect(try Lab.leftovers("e2e-copy-i2") == [])
        #expect(try ["e2e-copy-i1", "e2e-copy-i3"].map { try Lab.virsh(["domid", "\($0)-ws"]) } == idsBefore)
        // --instances 3 means i1 ... i3 on every verb: i2 is named as missing, the others answer.
        let remaining = try Lab.decoynet(["health", environment, "--instances", "3", "--no-wait", "--json"])
        #expect(remaining.status == 0, "\(remaining.stdout)")
        #expect(remaining.stderr.contains("no copy e2e-copy-i2 on qemu:///system"), "\(remaining.stderr)")
        #expect((try Lab.json(remaining.stdout) as? [[String: Any]])?.count == 6)

        #expect(try Lab.decoynet(["destroy", environment, "--instances", "all"]).status == 0)
        #expect(try Lab.leftovers("e2e-copy-i1") == [] && Lab.leftovers("e2e-copy-i3") == [])
    }

    @Test func overlappingAddressesAreRefusedBeforeAnythingIsCreated() throws {
        let first = try Lab.topology("quickstart.yaml", as: "e2e-first")
        let second = try Lab.topology("quickstart.yaml", as: "e2e-second")
        defer {
            _ = try? Lab.decoynet(["destroy", "e2e-first"])
            _ = try? Lab.decoynet(["destroy", "e2e-second"])
        }
        #expect(try Lab.decoynet(["apply", first, "--no-wait"]).status == 0)
        let refused = try Lab.decoynet(["apply", second, "--no-wait"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("overlaps network e2e-first-lan (\(Lab.address("1.1"))/24), already on the connection"), "\(refused.stderr)")
        #expect(try Lab.leftovers("e2e-second") == [])
    }
}
}
