@testable import Engine
import Foundation
import Testing

/// The record apply keeps of an environment's firewall tables, and what a start checks against it.
@Suite struct HostIsolationTests {
    @Test func theRecordNamesEveryTableAStartNeeds() throws {
        let environment = try resolve("""
            name: iso-a
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks: { lan: { cidr: 10.1.0.0/24 } }
            hosts: { pc: { image: i, interfaces: [{ network: lan }] } }
            """)
        let file = HostIsolation.ruleset(environment)
        #expect(HostIsolation.expected(in: file) == ["inet decoynet_guard", "bridge decoynet_env_iso_a", "inet decoynet_net_iso_a"])

        // Nothing held (spoofing allowed): the bridge table is removed, not expected.
        let open = try resolve("""
            name: iso-b
            images: { i: { disk: /var/lib/images/base.qcow2 } }
            networks: { lab: { cidr: 10.2.0.0/24, spoofing: allow } }
            hosts: { pc: { image: i, interfaces: [{ network: lab }] } }
            """)
        let openFile = HostIsolation.ruleset(open)
        #expect(openFile.hasPrefix("table bridge decoynet_env_iso_b\ndelete table bridge decoynet_env_iso_b\n"))
        #expect(HostIsolation.expected(in: openFile) == ["inet decoynet_guard", "inet decoynet_net_iso_b"])
    }

    @Test func aStartWithoutARecordIsRefusedWithTheFix() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-isolation-" + UUID().uuidString).path
        let isolation = HostIsolation(root: root)
        #expect {
            _ = try isolation.ensure(environment: "never-applied")
        } throws: { error in
            let text = "\(error)"
            return text.contains("not recorded (no \(root)/never-applied.nft") && text.contains("apply its topology again")
        }
    }
}
