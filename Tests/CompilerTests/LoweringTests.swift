import Compiler
import Diagnostics
import Foundation
import Testing
import Topology

@Suite struct LoweringTests {
    @Test func precedenceIsBuiltInThenDefaultsThenTemplateChainThenHost() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        defaults:
          memory: 768MiB
          vcpus: 3
          services: [ssh]
        hosts:
          a: { template: child, interfaces: [{ network: lan }] }
          b: { template: child, vcpus: 8, services: [], interfaces: [{ network: lan }] }
          c: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, files: ["templates/t.yaml": """
        base:
          image: { kernel: /k, initrd: /i }
          vcpus: 2
          memory: 1GiB
          firmware: uefi
        child:
          extends: base
          memory: 2GiB
          services: [http, https]
        """]))
        let hosts = Dictionary(uniqueKeysWithValues: environment.hosts.map { ($0.name, $0) })
        #expect(hosts["a"]?.vcpus == 2)
        #expect(hosts["a"]?.memoryMiB == 2048)
        #expect(hosts["a"]?.firmware == .uefi)
        #expect(hosts["a"]?.services.map(\.port) == [80, 443])
        #expect(hosts["b"]?.vcpus == 8)
        #expect(hosts["b"]?.services.isEmpty == true, "an empty list at a higher level replaces the lower one")
        #expect(hosts["c"]?.vcpus == 3)
        #expect(hosts["c"]?.memoryMiB == 768)
        #expect(hosts["c"]?.services.map(\.name) == ["ssh"])
        #expect(hosts["c"]?.firmware == .bios)
    }

    @Test func countsExpandToZeroPaddedNames() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/22 }
        hosts:
          ws: { image: { kernel: /k, initrd: /i }, count: 120, interfaces: [{ network: lan }] }
          pc: { image: { kernel: /k, initrd: /i }, count: 3, interfaces: [{ network: lan }] }
          solo: { image: { kernel: /k, initrd: /i }, count: 1, interfaces: [{ network: lan }] }
        """))
        let names = environment.hosts.map(\.name)
        #expect(names.prefix(2) == ["ws-001", "ws-002"])
        #expect(names.contains("ws-120"))
        #expect(Array(names.suffix(4)) == ["pc-01", "pc-02", "pc-03", "solo"])
        #expect(environment.groups.map(\.count) == [120, 3, 1])
        #expect(environment.hosts.first?.libvirtName == "acme-ws-001")
    }

    @Test func fixedAddressesAreReservedFirstThenLowestFreeInFileOrder() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
          dmz: { cidr: 10.20.0.0/29, bridge_address: 10.20.0.6 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }, { network: dmz }] }
          b: { image: { kernel: /k, initrd: /i }, count: 2, interfaces: [{ network: lan }, { network: dmz }] }
          fixed: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan, address: 10.10.0.3 }, { network: dmz, address: 10.20.0.1 }] }
        """))
        let addresses = environment.hosts.map { host in host.interfaces.map(\.address.description) }
        #expect(addresses == [
            ["10.10.0.2", "10.20.0.2"],
            ["10.10.0.4", "10.20.0.3"],
            ["10.10.0.5", "10.20.0.4"],
            ["10.10.0.3", "10.20.0.1"],
        ])
        #expect(environment.networks[1].bridgeAddress.description == "10.20.0.6")
    }

    @Test func exhaustedNetworkIsReportedOnce() {
        let found = diagnostics("""
        name: acme
        networks:
          tiny: { cidr: 10.10.0.0/30 }
        hosts:
          ws:
            image: { kernel: /k, initrd: /i }
            count: 4
            interfaces: [{ network: tiny }]
        """).filter { $0.severity == .error }
        #expect(found.map(\.rendered) == ["topology.yaml:8:18: error: network tiny (10.10.0.0/30) has no free address left for host ws-02"])
    }

    @Test func identifiersAreDeterministicAndWellFormed() throws {
        let source = """
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/22 }
          a-very-long-network-name-indeed: { cidr: 10.20.0.0/22 }
        hosts:
          ws: { image: { kernel: /k, initrd: /i }, count: 300, interfaces: [{ network: lan }, { network: a-very-long-network-name-indeed }] }
          fixed: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan, mac: "52:54:00:aa:bb:cc" }] }
        """
        let first = try #require(lower(source))
        let second = try #require(lower(source))
        let macs = first.hosts.flatMap { $0.interfaces.map(\.mac) }
        #expect(macs == second.hosts.flatMap { $0.interfaces.map(\.mac) })
        #expect(Set(macs).count == macs.count, "MACs are unique")
        #expect(macs.dropLast().allSatisfy { $0.description.hasPrefix("52:54:00:") })
        #expect(macs.last?.description == "52:54:00:aa:bb:cc")
        #expect(first.hosts.map(\.uuid) == second.hosts.map(\.uuid))
        #expect(Set(first.hosts.map(\.uuid)).count == first.hosts.count)
        let uuidPattern = #/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/#
        #expect(first.hosts.allSatisfy { (try? uuidPattern.wholeMatch(in: $0.uuid)) != nil })
        #expect(first.networks.allSatisfy { $0.bridge.count <= 15 })
        #expect(Set(first.networks.map(\.bridge)).count == 2)
        #expect(first.networks.map(\.bridge) == second.networks.map(\.bridge))
    }

    @Test func bridgeNamesDifferBetweenEnvironments() throws {
        let body = """
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """
        let one = try #require(lower("name: one\n" + body))
        let two = try #require(lower("name: two\n" + body))
        #expect(one.networks[0].bridge != two.networks[0].bridge)
        #expect(one.networks[0].libvirtName == "one-lan")
    }

    @Test func relativeImagePathsResolveFromTheFileThatWroteThem() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        workspace.write("lib/templates.yaml", "t:\n  image: { kernel: boot/vmlinuz, initrd: boot/initrd }\n")
        let path = workspace.write("env/topology.yaml", """
        name: acme
        templates: [../lib/templates.yaml]
        images:
          base: { disk: images/base.qcow2 }
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: base, interfaces: [{ network: lan }] }
          b: { template: t, interfaces: [{ network: lan }] }
        """)
        let result = Compiler.lower(path: path, projectTemplates: nil)
        let environment = try #require(result.environment)
        let root = URL(fileURLWithPath: workspace.directory).standardizedFileURL.path
        #expect(environment.hosts[0].image.disk == root + "/env/images/base.qcow2")
        #expect(environment.hosts[0].volumeName == "acme-a.qcow2")
        #expect(environment.hosts[1].image.kernel == root + "/lib/boot/vmlinuz")
        #expect(environment.hosts[1].volumeName == nil)
    }

    @Test func topologyTemplatesShadowProjectTemplates() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { template: tiny, interfaces: [{ network: lan }] }
        """, files: ["templates/mine.yaml": "tiny: { image: { kernel: /mine, initrd: /mine.gz }, vcpus: 4 }\n"]))
        #expect(environment.hosts[0].vcpus == 4)
        #expect(environment.hosts[0].image.kernel == "/mine")
    }

    @Test func defaultProbesFollowDHCPAndServices() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
          static: { cidr: 10.20.0.0/24, dhcp: false }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, services: [ssh, { port: 8080 }, http, dns, { port: 3307, name: mysql }], interfaces: [{ network: lan }] }
          b: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: static }] }
          c: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }], health: { timeout: 2m, probes: ["http:80/health"] } }
        """))
        // A service's default probe speaks its protocol where DecoyNet has one; a well-known name on
        // another port keeps the plain TCP probe.
        #expect(environment.hosts[0].probes == [.running, .lease, .service(.ssh), .tcp(port: 8080), .http(port: 80, path: "/"),
                                                .tcp(port: 53), .tcp(port: 3307)], "no domain: no name for the DNS probe to ask")
        #expect(environment.hosts[0].services[1].name == "port-8080")
        #expect(environment.hosts[1].probes == [.running])
        #expect(environment.hosts[2].probes == [.http(port: 80, path: "/health")])
        #expect(environment.hosts[2].healthTimeoutSeconds == 120)
        #expect(environment.hosts[0].healthTimeoutSeconds == 120)
    }

    @Test func gatewayAddressIsTheGatewayHostsAddressOnTheNetwork() throws {
        let environment = try #require(lower("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, gateway: fw }
          dmz: { cidr: 10.20.0.0/24, gateway: fw, egress: nat }
        hosts:
          fw: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: dmz, address: 10.20.0.254 }, { network: lan }] }
        """))
        #expect(environment.networks[0].gatewayAddress?.description == "10.10.0.2")
        #expect(environment.networks[1].gatewayAddress?.description == "10.20.0.254")
        #expect(environment.networks[1].egress == .nat)
    }

    @Test func diskSizeIsCheckedAgainstAQcow2Base() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        // A qcow2 header: magic, version 3, and a virtual size of 2 GiB at offset 24.
        var header = [UInt8](repeating: 0, count: 104)
        header[0 ..< 4] = [0x51, 0x46, 0x49, 0xFB]
        header[7] = 3
        header[28] = 0x80
        try Data(header).write(to: URL(fileURLWithPath: workspace.directory + "/base.qcow2"))
        let path = workspace.write("topology.yaml", """
        name: acme
        images:
          base: { disk: base.qcow2 }
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          small: { image: base, disk: 1GiB, interfaces: [{ network: lan }] }
          large: { image: base, disk: 4GiB, interfaces: [{ network: lan }] }
        """)
        let result = Compiler.lower(path: path, projectTemplates: nil)
        #expect(result.diagnostics.map(\.message) == ["disk size 1GiB is smaller than its base image (2GiB)"])
        #expect(result.diagnostics.first?.location.line == 7)
        #expect(result.diagnostics.first?.location.column == 31)
    }
}
