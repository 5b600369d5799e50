import Compiler
import Digest
import Foundation
import LibvirtXML
import Testing
import Topology

/// Seeds (NoCloud), the ISO image that carries them, hardware profiles and owners.
@Suite struct SeedTests {
    static func office() throws -> (ResolvedEnvironment, CompiledEnvironment) {
        let result = Compiler.lower(path: projectRoot + "/topologies/office.yaml", projectTemplates: projectTemplates)
        let environment = try #require(result.environment, "\(result.diagnostics.map(\.rendered))")
        return (environment, DocumentRenderer.render(environment, acceleration: .qemu))
    }

    static func seed(_ host: String, in compiled: CompiledEnvironment) throws -> HostSeed {
        try #require(compiled.seeds.first { $0.host == host }?.seed)
    }

    /// The files of an ISO 9660 image's root directory, read back from its bytes.
    static func readISO(_ image: [UInt8]) -> (label: String, files: [String: [UInt8]]) {
        let sector = 2048
        func le32(_ offset: Int) -> Int { Int(image[offset]) | Int(image[offset + 1]) << 8 | Int(image[offset + 2]) << 16 | Int(image[offset + 3]) << 24 }
        let pvd = 16 * sector
        let label = String(decoding: image[pvd + 40 ..< pvd + 72], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let root = le32(pvd + 156 + 2) * sector
        var files: [String: [UInt8]] = [:]
        var offset = root
        while image[offset] != 0 {
            let length = Int(image[offset])
            let nameLength = Int(image[offset + 32])
            let name = String(decoding: image[offset + 33 ..< offset + 33 + nameLength], as: UTF8.self)
            if image[offset + 25] & 2 == 0 {
                let start = le32(offset + 2) * sector
                files[name] = Array(image[start ..< start + le32(offset + 10)])
            }
            offset += length
        }
        return (label, files)
    }

    @Test func aSeedCarriesHostnameNetworkUsersAndFiles() throws {
        let (environment, compiled) = try Self.office()
        let ws = try Self.seed("ws-01", in: compiled)
        let host = try #require(environment.hosts.first { $0.name == "ws-01" })
        #expect(ws.metaData == "instance-id: \(host.uuid)\nlocal-hostname: ws-01\n")
        #expect(ws.userData.hasPrefix("#cloud-config\nhostname: ws-01\nfqdn: ws-01.harbor.example\n"))
        // owner: auto gives the first host of the count to the first person, and only them.
        #expect(ws.userData.contains("- name: tsato\n  gecos: \"Taro Sato\"\n  shell: /bin/bash\n  groups: sales\n"))
        #expect(!ws.userData.contains("name: mkobayashi"))
        let password = try #require(environment.people.first { $0.user == "tsato" }?.password)
        #expect(ws.userData.contains("  - name: tsato\n    password: \"\(password)\"\n    type: text\n"))
        // The owner's file lands in their home, placeholders replaced in path and content.
        let todo = Array("Taro Sato: call the Harbor Logistics Ltd. auditors\n".utf8)
        #expect(ws.userData.contains("- path: /home/tsato/Documents/todo.txt\n  permissions: '0644'\n  owner: tsato:tsato\n  defer: true\n  encoding: b64\n  content: \(Data(todo).base64EncodedString())\n"))
        #expect(ws.networkConfig.contains("      macaddress: \"\(host.interfaces[0].mac)\"\n    dhcp4: true\n"))
        #expect(ws.networkConfig.contains("      addresses: [10.78.2.1]\n      search: [harbor.example]\n"))
        // Passwords go into seeds only: never into the domain definitions.
        #expect(!compiled.domains.contains { $0.xml.contains(password) })
        // A file server without an owner carries every person, with their share.
        let files = try Self.seed("files", in: compiled)
        #expect(environment.people.count == 8)
        #expect(environment.people.allSatisfy { files.userData.contains("- name: \($0.user)\n") })
        // Their SMB accounts are written hashed into Samba's smbpasswd file (root's only).
        #expect(files.userData.contains("- path: /etc/samba/smbpasswd\n  permissions: '0600'\n"))
        let accounts = files.userData.split(separator: "\n").filter { $0.hasPrefix("  content: ") }
            .compactMap { Data(base64Encoded: String($0.dropFirst(11))) }.map { String(decoding: $0, as: UTF8.self) }.first { $0.contains(":[UX         ]:") }
        let mkobayashi = try #require(environment.people.first { $0.user == "mkobayashi" }?.password)
        #expect(accounts?.contains("\nmkobayashi:1001:\(String(repeating: "X", count: 32)):\(MD4.ntHash(mkobayashi)):[UX         ]:LCT-65920080:\n") == true)
        #expect(!files.userData.contains("smbpasswd -s -a"))
    }

    @Test func passwordsAndEmptyFilesAreWrittenAsCloudInitReadsThem() throws {
        let (environment, compiled) = try Self.office()
        let ws = try Self.seed("ws-02", in: compiled).userData
        let password = try #require(environment.people.first { $0.user == "mkobayashi" }?.password)
        #expect(ws.contains("chpasswd:\n  expire: false\n  users:\n  - name: mkobayashi\n    password: \"\(password)\"\n    type: text\n"))
        // A host without services still lists them, in an empty file: `""`, never a bare `content:`.
        let quiet = try #require(lower("""
        name: quiet
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          pc: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """))
        let empty = SeedRenderer.render(quiet.hosts[0], in: quiet).userData
        #expect(empty.contains("- path: /etc/decoynet/services\n  permissions: '0644'\n  encoding: b64\n  content: \"\"\n"))
        #expect(!ws.contains("content: \n") && !empty.contains("content: \n"))
    }

    @Test func servicesGetTheirSettings() throws {
        let (_, compiled) = try Self.office()
        let site = try Self.seed("www", in: compiled).userData
        let index = Array("<h1>Harbor Logistics Ltd.</h1>".utf8)
        #expect(site.contains("- path: /var/www/html/index.html\n"))
        #expect(site.contains("- path: /var/www/html/about.html\n"))
        let decoded = site.split(separator: "\n").filter { $0.hasPrefix("  content: ") }.compactMap { Data(base64Encoded: String($0.dropFirst(11))) }
        #expect(decoded.contains { Array($0).firstRange(of: index) != nil })
        let zone = try Self.seed("ns", in: compiled).userData
        let zoneFile = try #require(zone.split(separator: "\n").filter { $0.hasPrefix("  content: ") }.compactMap { Data(base64Encoded: String($0.dropFirst(11))) }
            .map { String(decoding: $0, as: UTF8.self) }.first { $0.contains("IN SOA") })
        #expect(zoneFile.contains("www IN A 10.78.1.10\n") && zoneFile.contains("ws-02 IN A 10.78.2."))
        #expect(try Self.seed("mail", in: compiled).userData.contains("smtpd_banner=$myhostname ESMTP Harbor Logistics Ltd. mail service"))
    }

    @Test func theSeedImageIsAnISOLabelledCidata() throws {
        let (_, compiled) = try Self.office()
        let seed = try Self.seed("it", in: compiled)
        let image = seed.isoImage
        #expect(image.count % 2048 == 0)
        #expect(image == seed.isoImage, "the same seed is the same image")
        let read = Self.readISO(image)
        #expect(read.label == "cidata")
        #expect(read.files == ["DECOYNET.JSON.;1": Array(seed.agentData.utf8), "META-DATA.;1": Array(seed.metaData.utf8),
                               "NETWORK-CONFIG.;1": Array(seed.networkConfig.utf8), "USER-DATA.;1": Array(seed.userData.utf8)])
        // util-linux reads the label as cloud-init and the first-boot agent do.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-seed-\(UUID().uuidString).iso").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(image).write(to: URL(fileURLWithPath: file))
        let blkid = Process()
        blkid.executableURL = URL(fileURLWithPath: "/sbin/blkid")
        blkid.arguments = ["-p", "-o", "export", file]
        let output = Pipe()
        blkid.standardOutput = output
        try blkid.run()
        blkid.waitUntilExit()
        let found = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(found.contains("LABEL=cidata") && found.contains("TYPE=iso9660"), "\(found)")
    }

    @Test func hardwareProfilesChangeSMBIOSDisksAndMACs() throws {
        let (environment, compiled) = try Self.office()
        let it = try #require(compiled.domains.first { $0.name == "office-it" }).xml
        #expect(it.contains("<entry name=\"manufacturer\">LENOVO</entry>") && it.contains("<entry name=\"product\">ThinkSystem SR630</entry>"))
        #expect(it.contains("<smbios mode=\"sysinfo\"/>"))
        #expect(it.contains("<target dev=\"sda\" bus=\"scsi\"/>") && it.contains("<vendor>LENOVO</vendor>") && it.contains("<product>RAID 530-8i</product>"))
        #expect(it.contains("<controller type=\"scsi\" index=\"0\" model=\"virtio-scsi\"/>"))
        #expect(it.contains("<target type=\"virtio\" name=\"org.qemu.guest_agent.0\"/>"))
        // The environment's vendor applies where a host does not set its own; desktops are desktops.
        let ws = try #require(compiled.domains.first { $0.name == "office-ws-01" }).xml
        #expect(ws.contains("<entry name=\"manufacturer\">Dell Inc.</entry>") && ws.contains("<entry name=\"product\">OptiPlex 7090</entry>"))
        for host in environment.hosts {
            let oui = host.name == "it" ? "10:c5:95:" : "c8:4b:d6:"
            #expect(host.interfaces.allSatisfy { $0.mac.description.hasPrefix(oui) }, "\(host.name)")
        }
        // Serials differ per host and stay the same per compile.
        let serials = compiled.domains.compactMap { domain in
            domain.xml.firstRange(of: "<entry name=\"serial\">").map { String(domain.xml[$0.upperBound...].prefix(7)) }
        }
        #expect(Set(serials).count == compiled.domains.count)
        let (_, again) = try Self.office()
        #expect(again.domains.map(\.xml) == compiled.domains.map(\.xml))
    }

    @Test func qemuHardwareKeepsQEMUsOwnTables() throws {
        let result = Compiler.lower(path: projectRoot + "/topologies/quickstart.yaml", projectTemplates: projectTemplates)
        let environment = try #require(result.environment)
        let compiled = DocumentRenderer.render(environment, acceleration: .qemu)
        #expect(compiled.domains.allSatisfy { !$0.xml.contains("<sysinfo") && $0.xml.contains("<target dev=\"vda\" bus=\"virtio\"/>") })
        #expect(environment.hosts.allSatisfy { $0.interfaces.allSatisfy { $0.mac.description.hasPrefix("52:54:00:") } })
    }
}
