import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every end-to-end test, one at a time: they share the lab, its libvirtd and its addresses.
@Suite(.serialized, .enabled(if: Lab.enabled, "needs the lab: run `make test`, which starts it and sets DECOYNET_LAB=1"))
struct EndToEnd {}

/// End to end on a real libvirtd and QEMU with the tiny test guest, in the lab's namespace.
extension EndToEnd {
@Suite struct DeployTests {
    @Test func quickstartComesUpHealthyIsIdempotentReplacesOneHostAndLeavesNothing() throws {
        let environment = "e2e-quick"
        let file = try Lab.topology("quickstart.yaml", as: environment)
        defer { _ = try? Lab.decoynet(["destroy", environment]) }

        let applied = try Lab.decoynet(["apply", file, "--json"])
        #expect(applied.status == 0, "\(applied.stderr)\n\(applied.stdout)")
        let report = try #require(try Lab.json(applied.stdout) as? [String: Any])
        let health = try #require(report["health"] as? [[String: Any]])
        #expect(health.count == 3)
        let bridgesBefore = try Lab.bridges()
        #expect(bridgesBefore.filter { $0.hasPrefix("dn-") }.count >= 2)

        // Every guest holds its reserved address and answers HTTP with its own hostname.
        let status = try Lab.decoynet(["status", environment, "--json"])
        let reports = try #require(try Lab.json(status.stdout) as? [[String: Any]])
        let domains = try #require((reports.first?["status"] as? [String: Any])?["domains"] as? [[String: Any]])
        #expect(domains.count == 3)
        for domain in domains {
            let host = try #require(domain["host"] as? String)
            for address in try #require(domain["addresses"] as? [String]) {
                #expect(try Lab.httpGet(address).trimmingCharacters(in: .whitespacesAndNewlines) == host, "\(host) at \(address)")
            }
        }
        // The network's gateway is what DHCP handed out as the router.
        let console = try String(contentsOfFile: "/var/log/libvirt/qemu/\(environment)-ws-serial.log", encoding: .utf8)
        #expect(console.contains("decoynet-guest: eth0 \(Lab.address("1.2")) ws router=\(Lab.address("1.254"))"))

        // A second apply changes nothing.
        let again = try Lab.decoynet(["plan", file, "--json"])
        let plan = try #require(try Lab.json(again.stdout) as? [String: Any])
        #expect(plan["changes"] as? Bool == false, "\(again.stdout)")

        // A memory change replaces exactly that host.
        let bigger = try Lab.topology("quickstart.yaml", as: environment) { $0.replacingOccurrences(of: "  ws:\n    template: tiny\n", with: "  ws:\n    template: tiny\n    memory: 256MiB\n") }
        let bootOfWeb = try Lab.virsh(["domid", "\(environment)-web"])
        let changed = try Lab.decoynet(["apply", bigger, "--json"])
        #expect(changed.status == 0, "\(changed.stderr)")
        let changedPlan = try #require(((try Lab.json(changed.stdout) as? [String: Any])?["plans"] as? [[String: Any]])?.first)
        let summary = try #require(changedPlan["summary"] as? [String: Int])
        #expect(summary["replace"] == 1 && summary["create"] == 0 && summary["delete"] == 0 && summary["update"] == 0, "\(summary)")
        #expect(try Lab.virsh(["dominfo", "\(environment)-ws"]).contains("262144 KiB"))
        // Healthy means booted again: the replaced host answers as soon as apply has returned.
        #expect(try Lab.httpGet(Lab.address("1.2")).trimmingCharacters(in: .whitespacesAndNewlines) == "ws")
        #expect(try Lab.virsh(["domid", "\(environment)-web"]) == bootOfWeb, "web was not restarted")

        // Destroy leaves no domain, network, bridge, volume, pool or file of the environment.
        let destroyed = try Lab.decoynet(["destroy", environment])
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        #expect(try Lab.leftovers(environment) == [])
        let bridgesAfter = try Lab.bridges()
        #expect(Set(bridgesBefore).subtracting(bridgesAfter).count >= 2)
        #expect(!bridgesAfter.contains { !bridgesBefore.contains($0) })
    }

    @Test func anApplyKilledMidwayConvergesAndIsFullyRemoved() throws {
        let environment = "e2e-kill"
        let file = try Lab.topology("quickstart.yaml", as: environment)
        defer { _ = try? Lab.decoynet(["destroy", environment]) }

        var pid: pid_t = 0
        let arguments: [String] = ["/usr/bin/env", "ip", "netns", "exec", Lab.namespace, Lab.binary, "apply", file, "--parallel", "1", "--no-wait"]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        #expect(posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ) == 0)
        // Kill it with SIGKILL as soon as the first network exists, before the domains are done.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !(try Lab.virsh(["net-list", "--all", "--name"]).contains("\(environment)-")) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        _ = try? Lab.run(["pkill", "-KILL", "-f", "decoynet apply \(file)"], timeout: 10)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let partial = try Lab.leftovers(environment)
        #expect(!partial.isEmpty, "the apply was killed after it started")

        let converged = try Lab.decoynet(["apply", file, "--json"])
        #expect(converged.status == 0, "\(converged.stderr)")
        #expect(try #require((try Lab.json(Lab.decoynet(["plan", file, "--json"]).stdout) as? [String: Any]))["changes"] as? Bool == false)

        #expect(try Lab.decoynet(["destroy", environment]).status == 0)
        #expect(try Lab.leftovers(environment) == [])
    }

    @Test func listAndHealthSeeTheEnvironmentAndAnswerInJSON() throws {
        let environment = "e2e-list"
        let file = try Lab.topology("quickstart.yaml", as: environment)
        defer { _ = try? Lab.decoynet(["destroy", environment]) }
        #expect(try Lab.decoynet(["apply", file, "--no-wait"]).status == 0)
        let list = try #require(try Lab.json(Lab.decoynet(["list", "--json"]).stdout) as? [[String: Any]])
        #expect(list.contains { $0["environment"] as? String == environment && $0["domains"] as? Int == 3 })
        let health = try Lab.decoynet(["health", environment, "--json"])
        #expect(health.status == 0, "\(health.stdout)\(health.stderr)")
        let hosts = try #require(try Lab.json(health.stdout) as? [[String: Any]])
        #expect(hosts.count == 3)
        #expect(try Lab.decoynet(["destroy", environment]).status == 0)
        #expect(try Lab.decoynet(["destroy", environment]).status == 0, "destroying what is gone is fine")
    }
}
}
