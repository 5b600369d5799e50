import Topology

/// What a vendor's machines tell a guest about themselves: SMBIOS strings, disk model, MAC OUI.
/// `qemu` keeps QEMU's own (and its `52:54:00` MACs).
public struct HardwareProfile: Sendable, Equatable {
    public var vendor: HardwareVendor
    /// SMBIOS manufacturer, as the vendor writes it (`dmidecode -s system-manufacturer`).
    public var manufacturer: String
    public var serverProduct: String
    public var desktopProduct: String
    public var biosVendor: String
    public var biosVersion: String
    /// SCSI INQUIRY vendor (8 characters at most) and product (16) of the system disk.
    public var diskVendor: String
    public var diskProduct: String
    public var oui: [UInt8]
    public var serialLength: Int
    /// The OEM id and OEM table id in every ACPI table's header, as the vendor's firmware writes them.
    public var acpiOEMID = "BOCHS"
    public var acpiOEMTableID = "BXPC"

    public static func profile(_ vendor: HardwareVendor) -> HardwareProfile {
        switch vendor {
        case .qemu:
            HardwareProfile(vendor: vendor, manufacturer: "QEMU", serverProduct: "Standard PC", desktopProduct: "Standard PC", biosVendor: "SeaBIOS",
                            biosVersion: "", diskVendor: "QEMU", diskProduct: "QEMU HARDDISK", oui: [0x52, 0x54, 0x00], serialLength: 0)
        case .dell:
            HardwareProfile(vendor: vendor, manufacturer: "Dell Inc.", serverProduct: "PowerEdge R640", desktopProduct: "OptiPlex 7090",
                            biosVendor: "Dell Inc.", biosVersion: "2.17.1", diskVendor: "DELL", diskProduct: "PERC H730P Mini",
                            oui: [0xC8, 0x4B, 0xD6], serialLength: 7, acpiOEMID: "DELL", acpiOEMTableID: "CBX3")
        case .hp:
            HardwareProfile(vendor: vendor, manufacturer: "HP", serverProduct: "ProLiant DL360 Gen10", desktopProduct: "HP EliteDesk 800 G6 SFF",
                            biosVendor: "HP", biosVersion: "U32 v2.72", diskVendor: "HP", diskProduct: "LOGICAL VOLUME",
                            oui: [0x3C, 0xD9, 0x2B], serialLength: 10, acpiOEMID: "HPQOEM", acpiOEMTableID: "SLIC-BPC")
        case .lenovo:
            HardwareProfile(vendor: vendor, manufacturer: "LENOVO", serverProduct: "ThinkSystem SR630", desktopProduct: "ThinkCentre M920q",
                            biosVendor: "LENOVO", biosVersion: "M1UKT4BA", diskVendor: "LENOVO", diskProduct: "RAID 530-8i",
                            oui: [0x10, 0xC5, 0x95], serialLength: 8, acpiOEMID: "LENOVO", acpiOEMTableID: "TC-M1U")
        case .supermicro:
            HardwareProfile(vendor: vendor, manufacturer: "Supermicro", serverProduct: "SYS-1029P-WTR", desktopProduct: "SYS-5039D-I",
                            biosVendor: "American Megatrends Inc.", biosVersion: "3.4", diskVendor: "SMC", diskProduct: "AOC-S3108L-H8IR",
                            oui: [0x00, 0x25, 0x90], serialLength: 12, acpiOEMID: "SUPERM", acpiOEMTableID: "SMCI--MB")
        }
    }

    /// Whether a host of this template reads as a desktop rather than a server.
    static func isDesktop(template: String?) -> Bool {
        guard let template else { return false }
        return template.contains("workstation") || template.contains("desktop") || template.contains("laptop")
    }
}
