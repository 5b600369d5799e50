import Foundation
import Testing

/// What a guest can reach, asked from inside the guest (the test guest's /cgi-bin/probe opens a TCP
/// connection from there): its own network, DHCP and DNS on its bridge, and nothing of the host or
/// of other environments, whatever their egress, even after the host's ruleset was flushed; and it
/// cannot send as another address unless its network allows it.
extension EndToEnd {
@Suite struct IsolationTests {
    @Test func guestsReachOnlyWhatTheirNetworkSaysAndCannotSpoof() throws {
        let environment = "e2e-iso"
        // ws's network is routed through the host, as is the other environment's dmz, whose hosts
        // (no gateway there) answer through the host too: only the host can keep the two apart.
        let file = try Lab.topology("quickstart.yaml", as: environment) {
            $0.replacingOccurrences(of: "  dmz: { cidr: \(Lab.address("2.0"))/24, gateway: gw }",
                                    with: "  dmz: { cidr: \(Lab.address("2.0"))/24, gateway: gw, spoofing: allow }")
                .replacingOccurrences(of: "  lan: { cidr: \(Lab.address("1.0"))/24, gateway: gw }",
                                      with: "  lan: { cidr: \(Lab.address("1.0"))/24, gateway: gw, egress: routed }")
        }
        let otherOctet = Lab.octet + 30
        let other = try Lab.topology("quickstart.yaml", as: "e2e-iso-other") {
            $0.replacingOccurrences(of: "  dmz: { cidr: \(Lab.address("2.0"))/24, gateway: gw }",
                                    with: "  dmz: { cidr: \(Lab.address("2.0"))/24, egress: routed }")
                .replacingOccurrences(of: "10.\(Lab.octet).", with: "10.\(otherOctet).")
        }
        // A port the host listens on, on every address of the lab's namespace.
        let listener = try Lab.start(["ip", "netns", "exec", Lab.namespace, "python3", "-m", "http.server", "8765", "--bind", "0.0.0.0"])
        defer {
            kill(listener.pid, SIGTERM)
            _ = try? listener.wait(timeout: 10)
            _ = try? Lab.decoynet(["destroy", environment])
            _ = try? Lab.decoynet(["destroy", "e2e-iso-other"])
        }
        let applied = try Lab.decoynet(["apply", file])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try Lab.decoynet(["apply", other]).status == 0)
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "3", "http://\(Lab.address("1.1")):8765/"]).status == 0,
                "the host's port answers the host itself")

        let ws = Lab.address("1.2"), web = Lab.address("2.2")
        func probe(from guest: String, _ query: String) throws -> String {
            try Lab.run(["ip", "netns", "exec", Lab.namespace, "curl", "-s", "--max-time", "10", "http://\(guest)/cgi-bin/probe?\(query)"], timeout: 20)
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let lanBridge = Lab.address("1.1"), dmzBridge = Lab.address("2.1")
        // Its own network, and DNS on its own bridge: open.
        #expect(try probe(from: ws, "\(Lab.address("1.254"))+80") == "open", "the gateway on the same network")
        #expect(try probe(from: ws, "\(lanBridge)+53") == "open", "DNS on the bridge")
        // The host: no other port, not on its bridge address, not on another network's bridge address.
        #expect(try probe(from: ws, "\(lanBridge)+8765") == "closed", "a host port on the bridge address")
        #expect(try probe(from: ws, "\(dmzBridge)+8765+via+\(lanBridge)") == "closed", "a host port on another bridge address")
        #expect(try probe(from: ws, "\(dmzBridge)+53+via+\(lanBridge)") == "closed", "DNS of another network's bridge")
        // Another environment, through the host: closed, on an isolated network and on a routed one.
        #expect(try probe(from: ws, "10.\(otherOctet).1.2+80+via+\(lanBridge)") == "closed", "another environment's guest")
        let otherWeb = "10.\(otherOctet).2.2"
        #expect(try probe(from: ws, "\(otherWeb)+80+via+\(lanBridge)") == "closed", "another environment's routed network")
        // An isolated network's DNS answers the environment's names and no others (no upstream).
        let dnsmasq = try String(contentsOfFile: "/var/lib/libvirt/dnsmasq/\(environment)-dmz.conf", encoding: .utf8)
        #expect(dnsmasq.split(separator: "\n").contains("no-resolv"), "dnsmasq of an isolated network forwards to no upstream:\n\(dnsmasq)")
        // Spoofing: ws's network forbids it, web's network (spoofing: allow) does not.
        #expect(try probe(from: ws, "\(Lab.address("1.254"))+80+from+\(Lab.address("1.99"))") == "closed", "ws sending as another address")
        #expect(try probe(from: ws, "\(Lab.address("1.254"))+80") == "open", "ws itself still reaches the gateway after its attempt")
        #expect(try probe(from: web, "\(Lab.address("2.254"))+80+from+\(Lab.address("2.99"))") == "open", "spoofing: allow lets web do it")

        // The host's ruleset flushed (by hand, by another firewall): libvirt's rules go with it, and
        // DecoyNet's. A guest reset starts only once its environment's tables are back.
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "nft", "flush", "ruleset"], timeout: 20).status == 0)
        defer { try? Lab.restartLibvirtd() }   // libvirt puts its own rules back when it starts
        #expect(try probe(from: ws, "\(lanBridge)+8765") == "open", "with nothing loaded the host's port answers (the flush took)")
        let reset = try Lab.decoynet(["reset", environment, "ws"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(reset.stderr.contains("loaded again"), "the reset says it put the tables back: \(reset.stderr)")
        #expect(try probe(from: ws, "\(lanBridge)+8765") == "closed", "a host port, after the flush and a reset")
        #expect(try probe(from: ws, "\(otherWeb)+80+via+\(lanBridge)") == "closed", "another environment's routed network, after the flush and a reset")
        // Every recorded environment's tables came back with them: the other one's guests are held too.
        #expect(try Lab.run(["ip", "netns", "exec", Lab.namespace, "nft", "list", "table", "inet", "decoynet_net_e2e_iso_other"], timeout: 20).status == 0)
        #expect(try probe(from: otherWeb, "\(ws)+80+via+10.\(otherOctet).2.1") == "closed", "from the other environment into this one")
        #expect(try probe(from: ws, "\(Lab.address("1.254"))+80+from+\(Lab.address("1.99"))") == "closed", "ws sending as another address, after the flush")
        #expect(try probe(from: ws, "\(Lab.address("1.254"))+80") == "open", "ws still reaches its gateway")

        #expect(try Lab.decoynet(["destroy", environment]).status == 0)
        #expect(try Lab.decoynet(["destroy", "e2e-iso-other"]).status == 0)
        #expect(try Lab.leftovers(environment) + Lab.leftovers("e2e-iso-other") == [])
    }
}
}
