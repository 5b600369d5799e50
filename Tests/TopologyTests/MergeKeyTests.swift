import Diagnostics
import Foundation
import Testing
@testable import Topology

/// YAML merge keys: `<<: *base` takes an anchored mapping's entries, `<<: [*a, *b]` several (the
/// first winning), and the mapping's own keys win over all of them.
@Suite struct MergeKeyTests {
    func hosts(_ text: String) -> (hosts: [String: HostSpec], diagnostics: [Diagnostic]) {
        let scratch = Scratch()
        defer { scratch.remove() }
        let result = TopologyLoader.load(path: scratch.write("merge.yaml", text), projectTemplates: nil)
        return (Dictionary((result.topology?.hosts ?? []).map { ($0.name.value, $0) }, uniquingKeysWith: { first, _ in first }), result.diagnostics)
    }

    @Test func aMergedMappingGivesItsKeysAndTheOwnKeysWin() throws {
        let (hosts, diagnostics) = hosts("""
        name: merge
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: &base
            image: { kernel: /k, initrd: /i }
            memory: 256MiB
            vcpus: 1
            interfaces: [{ network: lan }]
          b: { <<: *base, memory: 512MiB }
          c:
            <<: [{ vcpus: 4 }, *base]
            count: 2

        """)
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics.map(\.rendered))")
        let b = try #require(hosts["b"])
        #expect(b.fields.memoryMiB?.value == 512, "b's own memory wins")
        #expect(b.fields.vcpus?.value == 1, "b takes base's vcpus")
        #expect(b.fields.interfaces?.value.count == 1)
        let c = try #require(hosts["c"])
        #expect(c.fields.vcpus?.value == 4, "the first merged mapping wins over the second")
        #expect(c.fields.memoryMiB?.value == 256)
        #expect(c.fields.count?.value == 2)
    }

    @Test func aMergeKeyOfAnythingButMappingsStaysAnUnknownKey() {
        let (_, diagnostics) = hosts("""
        name: merge
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { <<: 3, image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }

        """)
        #expect(diagnostics.contains { $0.message.contains("'<<'") }, "\(diagnostics.map(\.rendered))")
    }
}
