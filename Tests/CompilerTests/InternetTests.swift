import Compiler
import Foundation
import LibvirtXML
import Testing
import Topology

/// The simulated internet and the watching it brings, as `topologies/infection.yaml` compiles.
@Suite struct InternetTests {
    static func infection() throws -> (ResolvedEnvironment, CompiledEnvironment) {
        let result = Compiler.lower(path: projectRoot + "/topologies/infection.yaml", projectTemplates: projectTemplates)
        let environment = try #require(result.environment, "\(result.diagnostics.map(\.rendered))")
        return (environment, DocumentRenderer.render(environment, acceleration: .qemu))
    }

    @Test func anInternetHostMakesTheEnvironmentWatchedOnEveryNetwork() throws {
        let (environment, _) = try Self.infection()
        #expect(environment.internetHost == "inet")
        #expect(environment.observeBytes == 2048 << 20)
        #expect(environment.networks.allSatisfy { $0.capture })
    }

    @Test func everyNetworkAsksTheInternetForNamesOutsideTheDomain() throws {
        let (_, compiled) = try Self.infection()
        for network in compiled.networks {
            let document = try #require(try Network(xml: network.xml))
            #expect(document.dns?.forwarders.last == NetworkDNSForwarder(domain: nil, address: "203.0.113.1"), "\(network.name)")
            // The company's own names stay the network's: never asked of the internet.
            #expect(document.domain?.localOnly == true)
            #expect(network.xml.contains("<forwarder addr=\"203.0.113.1\"/>"))
        }
    }

    @Test func theGatewayRoutesTheOutsideToTheInternet() throws {
        let (_, compiled) = try Self.infection()
        let network = try #require(compiled.seeds.first { $0.host == "fw" }?.seed.networkConfig)
        #expect(network.contains("    routes:\n      - to: default\n        via: 203.0.113.1\n"))
        #expect(network.components(separatedBy: "via:").count == 2, "one default route, on the outside network's interface")
        let ws = try #require(compiled.seeds.first { $0.host == "ws-01" }?.seed.networkConfig)
        #expect(!ws.contains("via:"))
    }

    @Test func aRuleToTheInternetsNetworkReachesEveryOutsideAddress() throws {
        let (_, compiled) = try Self.infection()
        let files = try CompanyTests.files("fw", in: compiled)
        let rules = try #require(files["/etc/nftables.conf"])
        #expect(rules.contains("        # office -> outside: everything\n        ip saddr 10.66.1.0/24 ip daddr 203.0.113.0/24 accept\n"
            + "        ip saddr 10.66.1.0/24 ip daddr != { 10.66.1.0/24, 10.66.2.0/24, 203.0.113.0/24 } accept\n"))
        #expect(rules.contains("        # outside -> mail: smtp\n        ip saddr 203.0.113.0/24 ip daddr 10.66.2.25 tcp dport 25 accept\n"))
    }

    @Test func theInternetAnswersAsEveryOutsideAddressAndNoInsideOne() throws {
        // Its answers come from the addresses it stands in for; it never sends as the environment's.
        let (environment, _) = try Self.infection()
        let rules = try #require(SpoofingRules.ruleset(environment))
        let inet = try #require(environment.hosts.first { $0.name == "inet" }?.interfaces.first)
        #expect(rules.contains("\"\(inet.tap)\" . \(inet.mac)"))
        #expect(rules.contains("\"\(inet.tap)\" . 203.0.113.1"), "held to its own address inside the environment")
        #expect(rules.contains("    set answering {\n        type ifname\n        elements = {\n            \"\(inet.tap)\"\n        }\n    }\n"))
        #expect(rules.contains("        ether type ip ip saddr 0.0.0.0 udp dport 67 accept\n"
            + "        ether type ip iifname @answering ip saddr != { 10.66.1.0/24, 10.66.2.0/24, 203.0.113.0/24 } accept\n"
            + "        ether type ip iifname . ip saddr != @addresses drop\n"))
        let ws = try #require(environment.hosts.first { $0.name == "ws-01" }?.interfaces.first)
        #expect(rules.contains("\"\(ws.tap)\" . \(ws.address)"))
        // Without an internet host, the table is as before.
        var plain = environment
        plain.internetHost = nil
        #expect(!(SpoofingRules.ruleset(plain) ?? "").contains("answering"))
    }

    @Test func aCheckMayNameAnAddress() throws {
        let (_, compiled) = try Self.infection()
        let xml = try #require(compiled.domains.first { $0.name == "infection-ws-01" }?.xml)
        #expect(xml.contains("to=\"198.51.100.7\" address=\"198.51.100.7\" port=\"80\" expect=\"open\""))
    }

    @Test func observeOnItsOwn() throws {
        let environment = try #require(lower("""
        name: watched
        observe: { keep: 512MiB }
        networks:
          lan: { cidr: 10.10.0.0/24 }
          dmz: { cidr: 10.20.0.0/24, capture: false }
        hosts:
          a: { template: tiny, interfaces: [{ network: lan }, { network: dmz }] }
        """))
        #expect(environment.observeBytes == 512 << 20)
        #expect(environment.internetHost == nil)
        #expect(environment.networks.allSatisfy { $0.capture })
        let unwatched = try #require(lower("""
        name: plain
        observe: false
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { template: tiny, interfaces: [{ network: lan }] }
        """))
        #expect(unwatched.observeBytes == nil && !unwatched.networks[0].capture)
    }

    @Test func oneInternetOnANetworkWithAGateway() {
        let found = diagnostics("""
        name: twice
        networks:
          lan: { cidr: 10.10.0.0/24, gateway: fw }
          bare: { cidr: 10.30.0.0/24 }
        hosts:
          fw: { template: tiny, interfaces: [{ network: lan }] }
          one: { template: internet, interfaces: [{ network: bare }] }
          two: { template: internet, interfaces: [{ network: lan }] }
        """)
        #expect(found.map(\.rendered) == [
            "topology.yaml:7:54: error: internet host one is on network bare, which has no gateway to route the environment to it; add 'gateway: ROUTER' to network bare",
            "topology.yaml:8:3: error: host two is a second internet host (one is the first); an environment has one internet, remove one of them",
        ])
        #expect(found.map(\.id) == ["internet-without-gateway", "internet-host-twice"])
    }
}
