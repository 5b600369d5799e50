import Compiler
import Foundation
import LibvirtXML
import Testing
import Topology

/// The company of `topologies/company.yaml` as its seeds and domains say it: the directory's
/// provisioning files, the gateway's firewall, homes, shares and mailboxes with their documents,
/// the staff page, and what the boot scheduler and evidence read from each domain's metadata.
@Suite struct CompanyTests {
    static func company() throws -> (ResolvedEnvironment, CompiledEnvironment) {
        let result = Compiler.lower(path: projectRoot + "/topologies/company.yaml", projectTemplates: projectTemplates)
        let environment = try #require(result.environment, "\(result.diagnostics.map(\.rendered))")
        return (environment, DocumentRenderer.render(environment, acceleration: .qemu))
    }

    /// The files a seed writes, by path, decoded.
    static func files(_ host: String, in compiled: CompiledEnvironment) throws -> [String: String] {
        let userData = try #require(compiled.seeds.first { $0.host == host }?.seed.userData)
        var files: [String: String] = [:]
        var path: String?
        for line in userData.split(separator: "\n") {
            if line.hasPrefix("- path: ") { path = String(line.dropFirst(8)) }
            if line.hasPrefix("  content: "), let current = path {
                let data = Data(base64Encoded: String(line.dropFirst(11))) ?? Data()
                files[current] = String(decoding: data, as: UTF8.self)
            }
        }
        return files
    }

    static func domain(_ host: String, in compiled: CompiledEnvironment) throws -> String {
        try #require(compiled.domains.first { $0.name == "company-\(host)" }?.xml)
    }

    /// The domain's `<decoynet:host>` element, as libvirt's metadata API returns it.
    static func metadata(_ host: String, in compiled: CompiledEnvironment) throws -> DomainMetadata {
        let xml = try domain(host, in: compiled)
        let start = try #require(xml.range(of: "<decoynet:host ")).lowerBound
        let end = try #require(xml.range(of: "</decoynet:host>")).upperBound
        return try #require(DomainMetadata(xml: String(xml[start ..< end])))
    }

    @Test func theDomainControllerProvisionsTheDomainWithEveryone() throws {
        let (environment, compiled) = try Self.company()
        let files = try Self.files("dc01", in: compiled)
        let conf = try #require(files["/etc/decoynet/domain.conf"])
        #expect(conf.contains("realm=CORP.HARBOR.EXAMPLE\n") && conf.contains("netbios=CORP\n") && conf.contains("address=10.79.2.10\n"))
        #expect(conf.contains("forwarder=10.79.2.1\n"))
        let people = try #require(files["/etc/decoynet/people.tsv"]).split(separator: "\n")
        #expect(people.count == environment.people.count)
        let tsato = try #require(environment.people.first { $0.user == "tsato" })
        #expect(people.first == "tsato\tTaro\tSato\tSales\tAccount Manager\ttsato@corp.harbor.example\t\(tsato.password ?? "")")
        // Root's files only; no Unix accounts or standalone Samba on the controller.
        let userData = try #require(compiled.seeds.first { $0.host == "dc01" }?.seed.userData)
        #expect(userData.contains("- path: /etc/decoynet/people.tsv\n  permissions: '0600'\n"))
        #expect(!userData.contains("\nusers:\n") && files["/etc/samba/smb.conf"] == nil && !userData.contains("smbpasswd"))
        // It answers DNS for its domain itself.
        let network = try #require(compiled.seeds.first { $0.host == "dc01" }?.seed.networkConfig)
        #expect(network.contains("addresses: [10.79.2.10]\n"))
    }

    @Test func theGatewayEnforcesThePolicyAndLogsDrops() throws {
        let (_, compiled) = try Self.company()
        let ruleset = try #require(try Self.files("fw", in: compiled)["/etc/nftables.conf"])
        #expect(ruleset.contains("type filter hook forward priority filter; policy drop;"))
        #expect(ruleset.contains("ip saddr 10.79.3.0/24 ip daddr 10.79.2.0/24 tcp dport { 53, 88, 389, 445 } accept\n"))
        #expect(ruleset.contains("ip saddr 10.79.3.0/24 ip daddr 10.79.2.0/24 udp dport { 53, 88, 389 } accept\n"))
        #expect(ruleset.contains("        ip daddr 10.79.1.0/24 tcp dport { 25, 80, 443 } accept\n"))
        #expect(ruleset.contains("log prefix \"decoynet-drop: \""))
        let userData = try #require(compiled.seeds.first { $0.host == "fw" }?.seed.userData)
        #expect(userData.contains("- \"nft -f /etc/nftables.conf\"\n"))
        // Its drop log is evidence; no other host has a firewall.
        let metadata = try Self.metadata("fw", in: compiled)
        #expect(metadata.evidence == [DomainMetadataEvidence(file: "firewall-drops.log", command: Firewall.dropLogCommand)])
        #expect(try Self.files("www", in: compiled)["/etc/nftables.conf"] == nil)
    }

    @Test func homesSharesAndMailboxesHoldTheirDocuments() throws {
        let (environment, compiled) = try Self.company()
        let files = try Self.files("files", in: compiled)
        for person in environment.people {
            #expect(files.keys.contains { $0.hasPrefix("/home/\(person.user)/Documents/") && $0.hasSuffix(".csv") }, "\(person.user)")
        }
        #expect(files["/srv/shares/sales/Sales staff list.csv"]?.contains("Taro Sato,Account Manager,tsato\n") == true)
        // Ages spread over years, applied in the guest to every document.
        let ages = try #require(files["/etc/decoynet/decoy-ages"]).split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1) }
        #expect(ages.count == files.keys.filter { $0.hasPrefix("/home/") || $0.hasPrefix("/srv/shares/") && $0.contains(".") }.count)
        let days = ages.compactMap { Int($0[0]) }
        #expect(days.min()! < 60 && days.max()! > 365)
        let mail = try Self.files("mail", in: compiled)
        let inbox = try #require(mail["/var/mail/tsato"])
        #expect(inbox.components(separatedBy: "\nFrom: ").count == 4 && inbox.contains("To: Taro Sato <tsato@corp.harbor.example>"))
        let userData = try #require(compiled.seeds.first { $0.host == "mail" }?.seed.userData)
        #expect(userData.contains("- path: /var/mail/tsato\n  permissions: '0600'\n  owner: tsato:tsato\n"))
        // The same topology gives the same documents.
        let (_, again) = try Self.company()
        #expect(try Self.files("files", in: again) == files)
    }

    @Test func theSiteListsDepartmentsAndPeople() throws {
        let (environment, compiled) = try Self.company()
        let files = try Self.files("www", in: compiled)
        #expect(files["/var/www/html/index.html"]?.contains("3 departments: Finance, IT, Sales.") == true)
        let staff = try #require(files["/var/www/html/staff.html"])
        for person in environment.people { #expect(staff.contains("&lt;\(person.user)@corp.harbor.example&gt;")) }
    }

    @Test func domainsBootInOrderWithAPanicDeviceAndABoundedTranslationCache() throws {
        let (_, compiled) = try Self.company()
        func metadata(_ host: String) throws -> DomainMetadata { try Self.metadata(host, in: compiled) }
        #expect(try metadata("fw").bootOrder == 0 && metadata("dc01").bootOrder == 0)
        #expect(try metadata("files").bootOrder == 1 && metadata("www").bootOrder == 1)
        #expect(try metadata("ws-01").bootOrder == 2 && metadata("ws-01").retries == 2)
        let workstation = try Self.domain("ws-01", in: compiled)
        #expect(workstation.contains("<panic model=\"isa\"/>"))
        #expect(workstation.contains("<tcg>\n      <tb-cache unit=\"MiB\">"))
        // KVM domains keep no TCG settings.
        let (environment, _) = try Self.company()
        let kvm = DocumentRenderer.render(environment, acceleration: .kvm)
        #expect(try #require(kvm.domains.first { $0.name == "company-ws-01" }?.xml).contains("<tcg>") == false)
    }

    @Test func aDomainControllerNeedsADomainWithAShortFirstLabel() {
        let base = """
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          dc: { template: domain-controller, interfaces: [{ network: lan }] }

        """
        #expect(diagnostics(base).contains { $0.id == "domain-controller-without-domain" && $0.severity == .error })
        let long = diagnostics(base + "domain: headquarters-east.acme.example\n")
        #expect(long.contains { $0.id == "netbios-name-too-long" && $0.message.contains("HEADQUARTERS-EAST") && $0.location.line == 6 })
        #expect(diagnostics(base + "domain: dc.acme.example\n").contains { $0.id == "netbios-name-is-host" })
        #expect(!diagnostics(base + "domain: corp.acme.example\n").contains { $0.severity == .error })
    }
}
