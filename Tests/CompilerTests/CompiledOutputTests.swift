import Compiler
import Digest
import Foundation
import LibvirtXML
import Testing

/// The compiled XML: byte-exact golden files, libvirt's schemas, determinism.
///
/// Golden files live in `Golden/<topology>/`; set `DECOYNET_RECORD_GOLDEN=1` to write them anew,
/// then review the diff like any other change.
@Suite(.serialized) struct CompiledOutputTests {
    static let goldenRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static let recording = ProcessInfo.processInfo.environment["DECOYNET_RECORD_GOLDEN"] == "1"

    static func compile(_ topology: String, acceleration: Acceleration = .qemu) throws -> CompiledEnvironment {
        let result = Compiler.lower(path: projectRoot + "/topologies/" + topology, projectTemplates: projectTemplates)
        let environment = try #require(result.environment, "\(result.diagnostics.map(\.rendered))")
        return DocumentRenderer.render(environment, acceleration: acceleration)
    }

    @Test(arguments: ["quickstart", "enterprise", "office", "stealth"])
    func compiledXMLMatchesGoldenFilesByteForByte(_ name: String) throws {
        let compiled = try Self.compile(name + ".yaml")
        let golden = Self.goldenRoot + "/" + name
        if Self.recording {
            try? FileManager.default.removeItem(atPath: golden)
            try compiled.write(to: golden)
        }
        let written = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-golden-" + UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: written) }
        try compiled.write(to: written)
        for folder in ["networks", "domains", "volumes"] {
            // git keeps no empty folders: a missing golden folder means no documents.
            let expected = ((try? FileManager.default.contentsOfDirectory(atPath: golden + "/" + folder)) ?? []).sorted()
            let actual = try FileManager.default.contentsOfDirectory(atPath: written + "/" + folder).sorted()
            #expect(actual == expected, "files in \(folder)/")
            for file in expected where actual.contains(file) {
                let want = try Data(contentsOf: URL(fileURLWithPath: golden + "/" + folder + "/" + file))
                let got = try Data(contentsOf: URL(fileURLWithPath: written + "/" + folder + "/" + file))
                #expect(got == want, "\(folder)/\(file) differs from its golden file")
            }
        }
        // Seeds: one folder per host with cloud-init's three files and the agent's decoynet.json.
        let expectedHosts = ((try? FileManager.default.contentsOfDirectory(atPath: golden + "/seeds")) ?? []).sorted()
        let actualHosts = try FileManager.default.contentsOfDirectory(atPath: written + "/seeds").sorted()
        #expect(actualHosts == expectedHosts, "folders in seeds/")
        for host in expectedHosts where actualHosts.contains(host) {
            for file in ["decoynet.json", "meta-data", "user-data", "network-config"] {
                let want = try Data(contentsOf: URL(fileURLWithPath: "\(golden)/seeds/\(host)/\(file)"))
                let got = try Data(contentsOf: URL(fileURLWithPath: "\(written)/seeds/\(host)/\(file)"))
                #expect(got == want, "seeds/\(host)/\(file) differs from its golden file")
            }
        }
    }

    @Test func goldenQuickstartHasTheExpectedShape() throws {
        let compiled = try Self.compile("quickstart.yaml")
        #expect(compiled.networks.map(\.name) == ["quickstart-lan", "quickstart-dmz"])
        #expect(compiled.domains.map(\.name) == ["quickstart-gw", "quickstart-web", "quickstart-ws"])
        #expect(compiled.volumes.map(\.name) == ["quickstart-gw.qcow2", "quickstart-web.qcow2", "quickstart-ws.qcow2"], "tiny boots its kernel with an overlay disk")
        #expect(compiled.volumes[0].xml.contains("<path>/var/lib/decoynet/images/tiny/disk.qcow2</path>"))
        let lan = compiled.networks[0].xml
        #expect(lan.contains(#"<host mac="#) && lan.contains(#"name="ws" ip="10.77.1.2"/>"#))
        #expect(lan.contains("<dnsmasq:option value=\"dhcp-option=option:router,10.77.1.254\"/>"))
        #expect(lan.contains("<hostname>web.quickstart.test</hostname>"), "without a DNS server a network names every host")
        #expect(lan.contains(#"<domain name="quickstart.test" localOnly="yes"/>"#), "and forwards nothing")
        let gateway = compiled.domains[0].xml
        #expect(gateway.contains(#"<decoynet:host xmlns:decoynet="https://decoynet.dev/xmlns/domain/1" environment="quickstart" name="gw" digest="sha256:"#))
        #expect(gateway.contains("<kernel>/var/lib/decoynet/images/tiny/vmlinuz</kernel>"))
    }

    /// The network documents grow with their own hosts, not with networks x hosts: the rest of the
    /// domain is forwarded to the environment's DNS server.
    @Test func aNetworkNamesItsOwnHostsAndForwardsTheDomainToItsDNSServer() throws {
        let environment = try #require(lower("""
            name: n
            domain: corp.example
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks:
              a: { cidr: 10.1.0.0/24 }
              b: { cidr: 10.2.0.0/24 }
              c: { cidr: 10.3.0.0/24 }
            hosts:
              ns: { image: i, services: [dns], interfaces: [{ network: b }] }
              pc: { image: i, count: 30, interfaces: [{ network: a }] }
              srv: { image: i, count: 30, interfaces: [{ network: c }] }
            """))
        let documents = environment.networks.map { DocumentRenderer.networkDocument($0, in: environment) }
        #expect(documents.map { $0.dns?.hosts.count } == [30, 1, 30])
        for document in documents {
            #expect(document.dns?.forwarders == [NetworkDNSForwarder(domain: "corp.example", address: "10.2.0.2")])
            #expect(document.domain == NetworkDomain(name: "corp.example", localOnly: false))
        }
        let parsed = try #require(Network(xml: documents[0].serialized()))
        #expect(parsed.dns == documents[0].dns, "the forwarder is read back from libvirt's document")
        #expect(parsed.structure.dns?.forwarders.count == 1, "a changed forwarder needs the network redefined")
    }

    /// Guests send only as themselves unless their network allows spoofing; a gateway forwards
    /// others' addresses, so only its MAC is held. The rules name each interface's tap, which the
    /// domain names in advance.
    @Test func theSpoofingRulesHoldEachInterfaceAsItsNetworkAsks() throws {
        let environment = try #require(lower("""
            name: s-1
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks:
              a: { cidr: 10.1.0.0/24, gateway: gw }
              b: { cidr: 10.2.0.0/24, gateway: gw, spoofing: allow }
            hosts:
              gw: { image: i, interfaces: [{ network: a, address: 10.1.0.254 }, { network: b, address: 10.2.0.254 }] }
              pc: { image: i, interfaces: [{ network: a }] }
              lab: { image: i, interfaces: [{ network: b }] }
            """))
        let gw = environment.hosts[0].interfaces, pc = environment.hosts[1].interfaces[0], lab = environment.hosts[2].interfaces[0]
        let taps = environment.hosts.flatMap { $0.interfaces.map(\.tap) }
        #expect(Set(taps).count == 4 && taps.allSatisfy { $0.hasPrefix("dt-") && $0.count == 13 })
        let domain = DocumentRenderer.domainDocument(environment.hosts[1], in: environment, acceleration: .qemu).serialized()
        #expect(domain.contains("<target dev=\"\(pc.tap)\"/>"))

        let rules = try #require(SpoofingRules.ruleset(environment))
        #expect(rules.hasPrefix("table bridge decoynet_env_s_1\ndelete table bridge decoynet_env_s_1\n"))
        #expect(rules.contains("\"\(pc.tap)\" . \(pc.mac)") && rules.contains("\"\(pc.tap)\" . 10.1.0.2"), "pc: its MAC and its address")
        #expect(rules.contains("\"\(gw[0].tap)\" . \(gw[0].mac)") && !rules.contains("\"\(gw[0].tap)\" . 10.1.0.254"), "the gateway: its MAC only")
        #expect(!rules.contains(gw[1].tap) && !rules.contains(lab.tap), "nothing on the network that allows spoofing")
        // nft itself accepts the file (checked, not loaded), where it is installed.
        if let accepted = try nftAccepts(rules) { #expect(accepted, "nft -c -f accepts the rules") }

        let open = try #require(lower("""
            name: o
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks: { b: { cidr: 10.2.0.0/24, spoofing: allow } }
            hosts: { lab: { image: i, interfaces: [{ network: b }] } }
            """))
        #expect(SpoofingRules.ruleset(open) == nil, "no table when nothing is held")
    }

    /// What the host routes between bridges: nothing into or out of an isolated network, nothing
    /// from the environment's bridges to another environment's, whatever libvirt has loaded.
    @Test func theForwardRulesKeepTheEnvironmentToItself() throws {
        let environment = try #require(lower("""
            name: f-1
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks:
              lan: { cidr: 10.1.0.0/24 }
              out: { cidr: 10.2.0.0/24, egress: routed }
            hosts:
              pc: { image: i, interfaces: [{ network: lan }] }
              web: { image: i, interfaces: [{ network: out }] }
            """))
        let lan = environment.networks[0].bridge, out = environment.networks[1].bridge
        let rules = try #require(ForwardRules.ruleset(environment))
        #expect(rules.hasPrefix("table inet decoynet_net_f_1\ndelete table inet decoynet_net_f_1\n"))
        func elements(_ set: String) -> String {
            guard let start = rules.range(of: "set \(set) {") else { return "" }
            return String(rules[start.upperBound...].prefix { $0 != "}" })
        }
        #expect(elements("bridges").contains("\"\(lan)\"") && elements("bridges").contains("\"\(out)\""))
        #expect(elements("isolated").contains("\"\(lan)\"") && !elements("isolated").contains(out), "only the isolated network is closed to routing")
        #expect(rules.contains("iifname @bridges oifname \"dn-*\" drop") && rules.contains("oifname @bridges iifname \"dn-*\" drop"),
                "routed to or from any other DecoyNet bridge: dropped, either way")
        if let accepted = try nftAccepts(rules) { #expect(accepted, "nft -c -f accepts the rules") }
    }

    @Test(arguments: ["quickstart.yaml", "enterprise.yaml", "classroom.yaml", "office.yaml", "stealth.yaml"])
    func everyDocumentPassesLibvirtsSchemas(_ topology: String) throws {
        let network = try SchemaValidator(.network)
        let domain = try SchemaValidator(.domain)
        let volume = try SchemaValidator(.storageVolume)
        for acceleration in Acceleration.allCases {
            let compiled = try Self.compile(topology, acceleration: acceleration)
            for document in compiled.networks { #expect(network.problems(in: document.xml) == [], "\(document.name)") }
            for document in compiled.domains { #expect(domain.problems(in: document.xml) == [], "\(document.name)") }
            for document in compiled.volumes { #expect(volume.problems(in: document.xml) == [], "\(document.name)") }
        }
    }

    @Test func everyLanguageFeaturePassesLibvirtsSchemas() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        let path = workspace.write("features.yaml", """
        name: features
        domain: features.example
        images:
          raw: { disk: /var/lib/images/raw.img, format: raw }
          both: { disk: /var/lib/images/base.qcow2, kernel: /boot/k, initrd: /boot/i, cmdline: "console=ttyS0 root=/dev/vda" }
        networks:
          out: { cidr: 10.1.0.0/24, egress: nat, mtu: 9000 }
          routed: { cidr: 10.2.0.0/16, egress: routed, bridge_address: 10.2.255.254, gateway: r }
          quiet: { cidr: 10.3.0.0/30, dhcp: false }
        hosts:
          r:
            image: raw
            firmware: uefi
            vcpus: 4
            memory: 2GiB
            disk: 10GiB
            interfaces: [{ network: out, model: e1000 }, { network: routed, model: rtl8139, mac: "02:00:00:00:00:01" }, { network: quiet }]
          k: { image: both, interfaces: [{ network: routed, model: e1000e }, { network: routed }] }
        """)
        let result = Compiler.lower(path: path, projectTemplates: nil)
        let environment = try #require(result.environment)
        for acceleration in Acceleration.allCases {
            let compiled = DocumentRenderer.render(environment, acceleration: acceleration)
            let network = try SchemaValidator(.network)
            let domain = try SchemaValidator(.domain)
            let volume = try SchemaValidator(.storageVolume)
            for document in compiled.networks { #expect(network.problems(in: document.xml) == [], "\(document.name)") }
            for document in compiled.domains { #expect(domain.problems(in: document.xml) == [], "\(document.name)") }
            for document in compiled.volumes { #expect(volume.problems(in: document.xml) == [], "\(document.name)") }
            #expect(compiled.networks[0].xml.contains(#"<forward mode="nat"/>"#))
            #expect(compiled.networks[1].xml.contains(#"<forward mode="route"/>"#))
            #expect(compiled.networks[2].xml.contains("<dhcp>") == false)
            #expect(compiled.domains[0].xml.contains(#"<os firmware="efi">"#))
            #expect(compiled.volumes[0].xml.contains(#"<format type="raw"/>"#))
            #expect(compiled.domains[0].xml.contains(#"<domain type="\#(acceleration.rawValue)">"#))
        }
    }

    @Test func schemaValidatorRejectsABrokenDocument() throws {
        let domain = try SchemaValidator(.domain)
        #expect(!domain.problems(in: "<domain type='qemu'><name>x</name><bogus/></domain>").isEmpty)
        #expect(!domain.problems(in: "<domain type='warp'><name>x</name></domain>").isEmpty)
        #expect(!domain.problems(in: "<domain").isEmpty)
    }

    @Test func compilingTwiceGivesTheSameBytes() throws {
        let first = try Self.compile("enterprise.yaml")
        let second = try Self.compile("enterprise.yaml")
        #expect(first.networks == second.networks)
        #expect(first.domains == second.domains)
        #expect(first.volumes == second.volumes)
    }

    @Test func digestChangesWithTheDefinitionOnly() throws {
        func digest(_ memory: String) throws -> [String] {
            let environment = try #require(lower("""
            name: acme
            networks:
              lan: { cidr: 10.10.0.0/24 }
            hosts:
              a: { image: { disk: /base.qcow2 }, memory: \(memory), interfaces: [{ network: lan }] }
              b: { image: { disk: /base.qcow2 }, interfaces: [{ network: lan }] }
            """))
            return DocumentRenderer.render(environment, acceleration: .qemu).domains.map { xml in
                String(xml.xml.split(separator: "digest=\"")[1].prefix(71))
            }
        }
        let small = try digest("512MiB")
        let large = try digest("1GiB")
        #expect(small[0] != large[0])
        #expect(small[1] == large[1])
        #expect(try digest("512MiB") == small)
    }

    @Test func digestIsTheDocumentWithZeroedDigestFollowedByItsVolumeAndSeed() throws {
        let compiled = try Self.compile("enterprise.yaml")
        let volumes = Dictionary(uniqueKeysWithValues: compiled.volumes.map { ($0.name, $0.xml) })
        let seeds = Dictionary(uniqueKeysWithValues: compiled.seeds.map { ("acme-" + $0.host, $0.seed) })
        for domain in compiled.domains.prefix(20) {
            let marker = "digest=\"sha256:"
            let parts = domain.xml.components(separatedBy: marker)
            #expect(parts.count == 2)
            let digest = String(parts[1].prefix(64))
            var hasher = SHA256()
            hasher.update(parts[0] + marker + String(repeating: "0", count: 64) + parts[1].dropFirst(64))
            hasher.update(volumes[domain.name + ".qcow2"] ?? "")
            // A changed seed (a user, a file) is a changed host: it is rebuilt with it.
            for file in try #require(seeds[domain.name]).files { hasher.update(file.contents) }
            #expect(hasher.finalize().hexString == digest, "\(domain.name)")
        }
    }

    @Test func writingRemovesDocumentsOfObjectsThatNoLongerExist() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        let out = workspace.directory + "/out"
        let big = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          ws: { image: { disk: /b.qcow2 }, count: 3, interfaces: [{ network: lan }] }
        """))
        try DocumentRenderer.render(big, acceleration: .qemu).write(to: out)
        let small = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          ws: { image: { disk: /b.qcow2 }, count: 2, interfaces: [{ network: lan }] }
        """))
        try DocumentRenderer.render(small, acceleration: .qemu).write(to: out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/domains").sorted() == ["acme-ws-01.xml", "acme-ws-02.xml"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/volumes").sorted() == ["acme-ws-01.qcow2.xml", "acme-ws-02.qcow2.xml"])
    }
}

/// Whether `nft -c -f` accepts a ruleset (checked, nothing loaded); nil where nft is not installed
/// or this is not root.
func nftAccepts(_ rules: String) throws -> Bool? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"), getuid() == 0 else { return nil }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-rules-\(UUID().uuidString).nft").path
    try rules.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
    check.arguments = ["-c", "-f", file]
    try check.run()
    check.waitUntilExit()
    return check.terminationStatus == 0
}
