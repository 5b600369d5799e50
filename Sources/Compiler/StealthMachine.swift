import Topology

/// What a stealthy host's machine is made of beside libvirt's elements: the processor, the disks'
/// models, the ACPI OEM ids, and the SMBIOS structures QEMU would otherwise write itself.
///
/// QEMU's own tables say "virtual" where libvirt cannot reach: its BIOS structure (type 0) sets the
/// "system is a virtual machine" bit, which `systemd-detect-virt` reads; its chassis (type 3) is of
/// type "Other"; its processor (4) and memory (17) are made by "QEMU", which `virt-what` greps for.
/// Types 0 and 3 are written here byte by byte and given to QEMU as files (`-smbios file=`); types 4
/// and 17 take QEMU's fields.
public struct StealthMachine: Sendable, Equatable {
    public struct Processor: Sendable, Equatable {
        /// `/proc/cpuinfo`'s model name and SMBIOS type 4's version.
        public var name: String
        public var family: Int
        public var model: Int
        public var stepping: Int
        public var maxMHz: Int
        public var currentMHz: Int
    }

    public var processor: Processor
    /// The SATA disk's model and firmware revision (`/sys/block/sda/device/model`, `hdparm -i`).
    public var diskModel: String
    public var diskFirmware: String
    public var memoryManufacturer: String
    public var memoryPart: String
    /// SMBIOS chassis type: 3 desktop, 0x17 rack mount chassis.
    public var chassisType: UInt8
    /// ACPI tables' OEM id (6 characters at most) and OEM table id (8).
    public var oemID: String
    public var oemTableID: String

    public static func machine(_ profile: HardwareProfile, desktop: Bool) -> StealthMachine {
        let processor = desktop
            ? Processor(name: "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", family: 6, model: 158, stepping: 10, maxMHz: 4600, currentMHz: 3200)
            : Processor(name: "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", family: 6, model: 85, stepping: 7, maxMHz: 3200, currentMHz: 2200)
        return StealthMachine(
            processor: processor,
            diskModel: desktop ? "ST1000DM010-2EP102" : "ST2000NM0055-1V4104", diskFirmware: desktop ? "CC46" : "SN04",
            memoryManufacturer: desktop ? "SK Hynix" : "Samsung", memoryPart: desktop ? "HMA81GU6CJR8N-VK" : "M393A2K43BB1-CTD",
            chassisType: desktop ? 0x03 : 0x17,
            oemID: String(profile.acpiOEMID.prefix(6)), oemTableID: String(profile.acpiOEMTableID.prefix(8))
        )
    }

    /// QEMU's arguments beside libvirt's (`<qemu:commandline>`): the processor without the
    /// `hypervisor` flag, the ACPI OEM ids, the SMBIOS files and fields, the drives' models.
    /// `files` are the SMBIOS structures' paths on the hypervisor.
    public func qemuArguments(smbiosFiles files: [String], serial: String, kvm: Bool = false) -> [String] {
        // No hypervisor signature at CPUID leaf 0x40000000, which virt-what reads: `tcg-cpuid=off`
        // hides TCG's ("TCGTCGTCGTCG"), `kvm=off` KVM's.
        let cpu = "Skylake-Client,-hypervisor,tcg-cpuid=off" + (kvm ? ",kvm=off" : "")
            + ",family=\(processor.family),model=\(processor.model),stepping=\(processor.stepping),model-id=\(Self.option(processor.name))"
        var arguments = ["-cpu", cpu, "-machine", "x-oem-id=\(Self.option(oemID)),x-oem-table-id=\(Self.option(oemTableID))"]
        for file in files { arguments += ["-smbios", "file=" + Self.option(file)] }
        arguments += ["-smbios", "type=4,sock_pfx=CPU,manufacturer=Intel(R) Corporation,version=\(Self.option(processor.name)),"
            + "max-speed=\(processor.maxMHz),current-speed=\(processor.currentMHz)"]
        arguments += ["-smbios", "type=17,loc_pfx=DIMM,bank=BANK 0,manufacturer=\(Self.option(memoryManufacturer)),part=\(Self.option(memoryPart)),"
            + "serial=\(Self.option(serial)),speed=2666"]
        arguments += ["-global", "ide-hd.model=" + diskModel, "-global", "ide-hd.ver=" + diskFirmware]
        return arguments
    }

    /// A value inside QEMU's `key=value,...` options: commas doubled.
    static func option(_ value: String) -> String { value.replacingOccurrences(of: ",", with: ",,") }

    // MARK: - SMBIOS structures (DSP0134 3.x)

    /// BIOS information (type 0, SMBIOS 3.1 layout) of the vendor's firmware: ACPI, USB legacy, BIOS
    /// boot specification, targeted content distribution, UEFI when it boots so, and not the virtual
    /// machine bit; a 16 MiB ROM.
    public static func biosStructure(_ profile: HardwareProfile, uefi: Bool = false) -> [UInt8] {
        // ISA, PCI, flash upgradeable, shadowing, boot from CD, selectable boot, EDD, print screen,
        // 8042 keyboard, serial and printer services, as a PC's BIOS says.
        let characteristics: UInt64 = 1 << 4 | 1 << 7 | 1 << 11 | 1 << 12 | 1 << 15 | 1 << 16 | 1 << 19 | 1 << 26 | 1 << 27 | 1 << 28 | 1 << 29 | 1 << 30
        let release = biosRelease(profile.biosVersion)
        var formatted: [UInt8] = [1, 2]                       // vendor, version (string numbers)
        formatted += le(UInt16(0xE800))                       // starting address segment
        formatted += [3, 0xFF]                                // release date; ROM size in the extended field
        formatted += le(characteristics)
        formatted += [0x03, uefi ? 0x0D : 0x05]               // extension bytes: ACPI, USB legacy; BBS, TCD, UEFI (no VM bit 4)
        formatted += [release.major, release.minor, 0xFF, 0xFF]   // BIOS release, no embedded controller
        formatted += le(UInt16(16))                           // extended ROM size: 16, in MiB (bits 15-14 zero)
        return structure(type: 0, handle: 0x0000, formatted: formatted, strings: [profile.biosVendor, profile.biosVersion, "03/14/2024"])
    }

    /// The release a BIOS version's last `N.N` says (`2.17.1` -> 2.17, `U32 v2.72` -> 2.72); 1.0 without one.
    static func biosRelease(_ version: String) -> (major: UInt8, minor: UInt8) {
        let words = version.split { !$0.isNumber && $0 != "." }
        let parts = (words.last { $0.contains(".") } ?? words.last ?? "").split(separator: ".").compactMap { UInt8($0) }
        return (parts.first ?? 1, parts.dropFirst().first ?? 0)
    }

    /// System enclosure (type 3): the vendor's desktop or rack chassis with the host's serial.
    public func chassisStructure(_ profile: HardwareProfile, serial: String) -> [UInt8] {
        var formatted: [UInt8] = [1, chassisType, 2, 3, 4]   // manufacturer, type, version, serial, asset tag
        formatted += [0x03, 0x03, 0x03, 0x03]                // boot-up, power supply, thermal: safe; security: none
        formatted += Self.le(UInt32(0))                           // OEM-defined
        formatted += [chassisType == 0x17 ? 1 : 0, 1, 0, 3]  // height (U), power cords, no contained elements (of 3 bytes)
        formatted += [5]                                      // SKU
        return Self.structure(type: 3, handle: 0x0300, formatted: formatted,
                              strings: [profile.manufacturer, "Not Specified", serial, "Not Specified", "Not Specified"])
    }

    /// One structure: header, formatted area, strings, and the double NUL that ends it.
    static func structure(type: UInt8, handle: UInt16, formatted: [UInt8], strings: [String]) -> [UInt8] {
        var bytes: [UInt8] = [type, UInt8(4 + formatted.count)] + le(handle) + formatted
        for string in strings { bytes += Array(string.utf8) + [0] }
        if strings.isEmpty { bytes.append(0) }
        bytes.append(0)
        return bytes
    }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0 ..< T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}
