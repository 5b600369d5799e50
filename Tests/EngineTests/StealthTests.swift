import Compiler
import Engine
import Foundation
import Hypervisor
import Naming
import Testing

/// A stealthy host on libvirt's test driver: its SMBIOS files beside its overlay, and everything
/// that would go through the guest agent it has not refused with the reason.
@Suite struct StealthTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    static func topology(_ name: String) -> String {
        """
        name: \(name)
        hardware: { vendor: dell }
        images:
          base: { disk: /var/lib/images/base.qcow2 }
        networks:
          lan: { cidr: 10.130.0.0/24 }
        hosts:
          pc: { image: base, disk: 1GiB, stealth: true, interfaces: [{ network: lan }] }
          ws: { image: base, disk: 1GiB, interfaces: [{ network: lan }] }
        """
    }

    @Test func aStealthyHostsFirmwareFilesAreVolumesOfItsPoolUntilItGoes() async throws {
        let name = uniqueName("stealth")
        let result = try await apply(Self.topology(name), hypervisor: hypervisor)
        #expect(result.outcomes.allDone)
        let pool = Naming.pool(environment: name)
        let volumes = try await hypervisor.volumes(pool: pool).map(\.name).sorted()
        let pc = Naming.object(environment: name, name: "pc")
        #expect(volumes.contains(Naming.firmware(domain: pc, smbiosType: 0)) && volumes.contains(Naming.firmware(domain: pc, smbiosType: 3)))
        #expect(!volumes.contains { $0.hasPrefix(Naming.object(environment: name, name: "ws")) && $0.hasSuffix(".bin") }, "only the stealthy host has them")
        #expect(Naming.domain(ofVolume: Naming.firmware(domain: pc, smbiosType: 3)) == pc)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func commandsInAStealthyHostAreRefusedWithTheReason() async throws {
        let name = uniqueName("stealthx")
        try await apply(Self.topology(name), hypervisor: hypervisor)
        let exec = GuestExec(hypervisor: hypervisor)
        do {
            _ = try await exec.run(domain: Naming.object(environment: name, name: "pc"), arguments: ["hostname"])
            Issue.record("a command ran in a host that has no guest agent")
        } catch {
            #expect("\(error)".contains("is stealthy: it has no guest agent"), "\(error)")
        }
        do {
            _ = try await exec.run(domain: Naming.object(environment: name, name: "ws"), arguments: ["hostname"])
        } catch {
            // The test driver has no agents at all: a host that is not stealthy fails with libvirt's own words.
            #expect(!"\(error)".contains("stealthy"), "\(error)")
        }
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func theDetectorsVerdictsReadThroughASerialConsolesNoise() {
        let names = VirtualMachineTells.checks.map(\.name)
        var output = "\u{13}\u{11}RESULT \(names[0])\r\n\r\nEND \(names[0])\r\n"
        output += "RESULT \(names[1])\nqemu\n\nEND \(names[1])\n"
        for name in names.dropFirst(2).dropLast() { output += "RESULT \(name)\n\nEND \(name)\n" }
        output += "[   12.3] a kernel message in between\n"
        let verdicts = VirtualMachineTells.verdicts(output)
        #expect(verdicts.map(\.check) == names)
        #expect(verdicts[0].evidence == nil, "flow control before a line is not output")
        #expect(verdicts[1].evidence == "qemu")
        #expect(verdicts.dropFirst(2).dropLast().allSatisfy { $0.evidence == nil })
        #expect(verdicts.last?.evidence == "the check printed no verdict", "a check whose lines are missing fails")
    }

    @Test func theDetectorScriptAsksEveryCheckOnce() {
        let script = VirtualMachineTells.script
        for check in VirtualMachineTells.checks {
            #expect(script.components(separatedBy: "echo 'RESULT \(check.name)'").count == 2, "\(check.name)")
        }
        #expect(Set(VirtualMachineTells.checks.map(\.name)).count == VirtualMachineTells.checks.count)
    }
}
