import Compiler
import Foundation
import LibvirtXML
import Testing
import Topology

/// Stealthy hosts as `topologies/stealth.yaml` compiles them: a Dell PC and a Dell server with
/// nothing that says "virtual", beside the same hosts without stealth.
@Suite struct StealthTests {
    static func stealth(poolRoot: String = "/var/lib/decoynet/pools") throws -> (ResolvedEnvironment, CompiledEnvironment) {
        let result = Compiler.lower(path: projectRoot + "/topologies/stealth.yaml", projectTemplates: projectTemplates)
        let environment = try #require(result.environment, "\(result.diagnostics.map(\.rendered))")
        return (environment, DocumentRenderer.render(environment, acceleration: .qemu, poolRoot: poolRoot))
    }

    static func xml(_ compiled: CompiledEnvironment, _ host: String) throws -> String {
        try #require(compiled.domains.first { $0.name == "stealth-" + host }).xml
    }

    @Test func aStealthyHostHasNoVirtualDeviceAndTheOthersKeepTheirs() throws {
        let (_, compiled) = try Self.stealth()
        for host in ["pc", "srv"] {
            let xml = try Self.xml(compiled, host)
            for virtual in ["virtio", "org.qemu.guest_agent", "<panic", "<rng", "qemu-xhci", "scsi"] {
                #expect(!xml.contains(virtual), "\(host) has \(virtual)")
            }
            #expect(xml.contains("<memballoon model=\"none\"/>"))
            #expect(xml.contains("<vmport state=\"off\"/>"))
            #expect(xml.contains("<model type=\"e1000e\"/>") && xml.contains("<rom enabled=\"no\"/>"))
            #expect(xml.components(separatedBy: "bus=\"sata\"").count == 3, "the disk and the seed on SATA")
            #expect(xml.contains("<controller type=\"usb\" index=\"0\" model=\"ich9-ehci1\">"))
            #expect(xml.contains("<model name=\"ioh3420\"/>"))
            #expect(xml.contains("-hypervisor,tcg-cpuid=off"))
            #expect(xml.contains("x-oem-id=DELL,x-oem-table-id=CBX3"))
            #expect(!xml.contains("<bios>") && !xml.contains("<chassis>"), "from SMBIOS files instead: QEMU refuses both")
            #expect(xml.contains("stealth=\"yes\""))
        }
        for host in ["pc-plain", "srv-plain"] {
            let xml = try Self.xml(compiled, host)
            #expect(xml.contains("org.qemu.guest_agent.0") && xml.contains("<model type=\"virtio\"/>"))
            #expect(!xml.contains("stealth=") && !xml.contains("qemu:commandline"))
        }
    }

    @Test func aStealthyHostBootsTheGenericKernelWithRoomForIt() throws {
        let (environment, _) = try Self.stealth()
        let pc = try #require(environment.hosts.first { $0.name == "pc" })
        let plain = try #require(environment.hosts.first { $0.name == "pc-plain" })
        #expect(pc.image.kernel == "/var/lib/decoynet/images/workstation/vmlinuz-generic")
        #expect(pc.image.initrd == "/var/lib/decoynet/images/workstation/initrd-generic.img")
        #expect(plain.image.kernel == "/var/lib/decoynet/images/workstation/vmlinuz")
        #expect(pc.memoryMiB == Language.stealthMemoryMiB && plain.memoryMiB == 96)
    }

    @Test func theSMBIOSFilesAreNamedByTheirPathInThePool() throws {
        let (environment, compiled) = try Self.stealth(poolRoot: "/srv/pools")
        let pc = try #require(environment.hosts.first { $0.name == "pc" })
        let files = DocumentRenderer.firmwareFiles(pc, in: environment)
        #expect(files.map(\.name) == ["stealth-pc.smbios0.bin", "stealth-pc.smbios3.bin"])
        let xml = try Self.xml(compiled, "pc")
        for file in files { #expect(xml.contains("file=/srv/pools/stealth/" + file.name)) }
        #expect(DocumentRenderer.firmwareFiles(try #require(environment.hosts.first { $0.name == "pc-plain" }), in: environment).isEmpty)
    }

    @Test func theBIOSStructureHasNoVirtualMachineBit() throws {
        let bios = StealthMachine.biosStructure(HardwareProfile.profile(.dell))
        #expect(bios[0] == 0 && bios[1] == 0x1A, "type 0, 26 bytes formatted (SMBIOS 3.1 and later)")
        #expect(bios[0x09] == 0xFF && bios[0x18] == 16 && bios[0x19] == 0, "a 16 MiB ROM, in the extended size")
        #expect(bios[0x13] & 0x10 == 0, "extension byte 2, bit 4: system is a virtual machine")
        #expect(bios[0x12] & 0x01 != 0, "ACPI supported")
        let strings = bios[Int(bios[1])...].split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        #expect(strings == ["Dell Inc.", "2.17.1", "03/14/2024"])
        #expect(bios.suffix(2) == [0, 0], "a structure ends in two NULs")
        #expect(bios[0x14] == 2 && bios[0x15] == 17, "the BIOS release from its version")
        #expect(bios[0x13] & 0x08 == 0 && StealthMachine.biosStructure(HardwareProfile.profile(.dell), uefi: true)[0x13] & 0x08 != 0, "UEFI when it boots so")
        let hp = StealthMachine.biosStructure(HardwareProfile.profile(.hp))
        #expect(hp[0x14] == 2 && hp[0x15] == 72, "HP's U32 v2.72 is release 2.72")
    }

    @Test func theChassisIsADesktopOrARackOfItsVendor() throws {
        let dell = HardwareProfile.profile(.dell)
        let desk = StealthMachine.machine(dell, desktop: true).chassisStructure(dell, serial: "ABC1234")
        let rack = StealthMachine.machine(dell, desktop: false).chassisStructure(dell, serial: "ABC1234")
        #expect(desk[0] == 3 && desk[5] == 0x03, "desktop")
        #expect(rack[5] == 0x17, "rack mount chassis")
        #expect(Int(desk[1]) == 4 + 18, "formatted area up to the SKU (SMBIOS 2.7)")
        let strings = desk[Int(desk[1])...].split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        #expect(strings == ["Dell Inc.", "Not Specified", "ABC1234", "Not Specified", "Not Specified"])
    }

    @Test func theRootLoginOfAStealthyHostIsInItsSeedAndNoOtherHasOne() throws {
        let (_, compiled) = try Self.stealth()
        let seeds = Dictionary(uniqueKeysWithValues: compiled.seeds.map { ($0.host, $0.seed) })
        let pc = try #require(seeds["pc"]).userData
        // What `compile` writes has no machine key: a deploy's root password is not in it.
        #expect(pc.contains("  - name: root\n    password: \"\(ConsoleLogin.password(environment: "stealth", host: "pc", key: []))\""))
        #expect(pc.contains("  - name: tsato\n"), "the owner's login stays")
        #expect(!(try #require(seeds["pc-plain"]).userData.contains("name: root")))
        #expect(ConsoleLogin.password(environment: "stealth", host: "pc", key: []) != ConsoleLogin.password(environment: "stealth", host: "srv", key: []))
        #expect(ConsoleLogin.password(environment: "stealth", host: "pc", key: [1]) != ConsoleLogin.password(environment: "stealth", host: "pc", key: [2]),
                "the machine's key makes the password")
    }
}
