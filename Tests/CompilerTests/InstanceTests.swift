import Compiler
import Diagnostics
import Foundation
import Testing
import Topology

@Suite struct InstanceTests {
    func lowered(_ source: String, _ instance: InstanceSelector) -> Compiler.Result {
        let workspace = Workspace()
        defer { workspace.remove() }
        let path = workspace.write("topology.yaml", source)
        return Compiler.lower(path: path, projectTemplates: nil, instance: instance)
    }

    let twoBlocks = """
    name: acme
    networks:
      lan: { cidr: 10.10.0.0/22, gateway: fw }
      srv: { cidr: 10.20.0.0/24, bridge_address: 10.20.0.200 }
    hosts:
      fw: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan, address: 10.10.3.254 }, { network: srv, address: 10.20.0.1 }] }
      ws: { image: { kernel: /k, initrd: /i }, count: 3, interfaces: [{ network: lan }] }
    """

    @Test func copiesTakeTheirOwnIdentityInTheirSeeds() throws {
        let original = DocumentRenderer.render(try #require(lower(twoBlocks)), acceleration: .qemu)
        let copy = DocumentRenderer.render(try #require(lowered(twoBlocks, .number(2)).environment), acceleration: .qemu)
        for (mine, theirs) in zip(original.seeds, copy.seeds) {
            #expect(mine.host == theirs.host)
            // A new instance-id: the first-boot agent makes the copy's own SSH host keys.
            #expect(mine.seed.metaData != theirs.seed.metaData && theirs.seed.metaData.contains("local-hostname: \(mine.host)\n"))
            // Its interfaces are matched by the copy's own MACs and use the copy's own DNS.
            #expect(mine.seed.networkConfig != theirs.seed.networkConfig)
        }
        #expect(copy.seeds[0].seed.networkConfig.contains("addresses: [10.32.0.1]"), "the copy's bridge is its DNS server")
    }

    @Test func copiesAreRenamedAndMovedBySpansOfTheirBlocks() throws {
        let original = try #require(lower(twoBlocks))
        let copy = try #require(lowered(twoBlocks, .number(2)).environment)
        #expect(copy.name == "acme-i2")
        #expect(copy.instanceOf == "acme")
        // The networks use the /16 blocks 10.10 and 10.20: a span of 11 blocks per copy.
        #expect(copy.networks.map(\.cidr.description) == ["10.32.0.0/22", "10.42.0.0/24"])
        #expect(copy.networks[1].bridgeAddress.description == "10.42.0.200")
        #expect(copy.hosts.map { $0.interfaces.map(\.address.description) } == [["10.32.3.254", "10.42.0.1"], ["10.32.0.2"], ["10.32.0.3"], ["10.32.0.4"]])
        #expect(copy.networks[0].gatewayAddress?.description == "10.32.3.254")
        // Everything derived from the name differs from the original's.
        #expect(copy.hosts[0].libvirtName == "acme-i2-fw")
        #expect(Set(copy.networks.map(\.bridge)).isDisjoint(with: original.networks.map(\.bridge)))
        #expect(Set(copy.hosts.flatMap { $0.interfaces.map(\.mac) }).isDisjoint(with: original.hosts.flatMap { $0.interfaces.map(\.mac) }))
        let xml = DocumentRenderer.render(copy, acceleration: .qemu).domains[0].xml
        #expect(xml.contains("environment=\"acme-i2\" instance-of=\"acme\" name=\"fw\""))
    }

    @Test func copiesNeverOverlapEachOther() throws {
        let copies = try (1 ... 5).map { try #require(lowered(twoBlocks, .number($0)).environment) }
        let networks = copies.flatMap(\.networks)
        for (index, first) in networks.enumerated() {
            for second in networks[(index + 1)...] { #expect(!first.cidr.overlaps(second.cidr), "\(first.libvirtName) and \(second.libvirtName)") }
        }
    }

    @Test func aCopyThatLeavesItsPrivateRangeIsAnErrorAtTheNetwork() throws {
        let result = lowered("""
        name: acme
        networks:
          lan: { cidr: 192.168.250.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, .number(1))
        #expect(result.environment == nil)
        #expect(result.diagnostics.filter { $0.severity == .error }.map(\.message) == ["copy i1 would move 192.168.250.0 outside 192.168.0.0/16; use fewer copies or a smaller address plan"])
        let error = try #require(result.diagnostics.first { $0.severity == .error })
        #expect(error.id == "instance-out-of-range")
        #expect(error.location.line == 3)
        #expect(error.location.column == 16)
    }

    @Test func namedCopiesTakeAStableIndex() throws {
        let alice = try #require(lowered(twoBlocks, .name("alice")).environment)
        let again = try #require(lowered(twoBlocks, .name("alice")).environment)
        #expect(alice.name == "acme-alice")
        #expect(alice.networks.map(\.cidr) == again.networks.map(\.cidr))
        #expect(InstanceSelector.name("bob").index(capacity: 21) == InstanceSelector.name("bob").index(capacity: 21))
        #expect((1 ... 21).contains(InstanceSelector.name("bob").index(capacity: 21)))
    }
}
