import Diagnostics
import Naming

/// A value together with the place the user wrote it, so later stages can point at it.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}

/// A topology file as written: every field optional, every value located.
///
/// Produced by `TopologyDecoder` even when the file has errors, so that validation can report all
/// of them; only an error-free `Topology` is handed to the compiler.
public struct Topology: Sendable {
    /// The path as the user gave it, used in diagnostics.
    public var file: String
    /// The absolute folder of the file: relative paths resolve from here.
    public var directory: String
    public var name: Located<String>?
    public var description: String?
    public var domain: Located<String>?
    public var templatePaths: [Located<String>] = []
    public var images: [ImageDeclaration] = []
    public var networks: [NetworkSpec] = []
    public var defaults = HostFields()
    public var hosts: [HostSpec] = []
    /// The company the environment imitates (version 2): `{organization}` in files and sites.
    public var organization: Located<String>?
    /// The environment's hardware vendor, below `defaults`, templates and hosts.
    public var hardware: Located<HardwareVendor>?
    /// The environment's `stealth`, below `defaults`, templates and hosts.
    public var stealth: Located<Bool>?
    public var departments: [Located<String>] = []
    public var people: [PersonSpec] = []
    public var peopleGenerators: [PeopleGenerator] = []
    public var checks: [CheckSpec] = []
    /// Traffic allowed between the environment's networks, through their gateway hosts.
    public var policy: [PolicyRuleSpec] = []
    /// `observe: true` or `observe: { keep: SIZE }`: every network captured and decoded into the
    /// timeline from apply to destroy; `keep` in MiB.
    public var observe: Located<ObserveSpec>?
    /// The people at work (`activity`): their workday, time zone and the simulation's speed.
    public var activity: Located<ActivitySpec>?
    public var location: SourceLocation

    public init(file: String, directory: String) {
        self.file = file
        self.directory = directory
        self.location = SourceLocation(file: file, line: 1, column: 1)
    }
}

/// How much of an observed environment's captures and timeline is kept (oldest dropped first).
public struct ObserveSpec: Sendable, Equatable {
    public var enabled: Bool
    public var keepMiB: UInt64

    public static let defaultKeepMiB: UInt64 = 2048

    public init(enabled: Bool, keepMiB: UInt64 = ObserveSpec.defaultKeepMiB) {
        self.enabled = enabled
        self.keepMiB = keepMiB
    }
}

public struct ImageDeclaration: Sendable {
    public var name: Located<String>
    public var spec: ImageSpec
}

public enum DiskFormat: String, Sendable, CaseIterable {
    case qcow2
    case raw
}

/// A base image: a disk to put overlays on, or a kernel to boot directly, or both.
public struct ImageSpec: Sendable {
    public var disk: Located<String>?
    public var format: Located<DiskFormat>?
    public var kernel: Located<String>?
    public var initrd: Located<String>?
    public var cmdline: Located<String>?
    /// The kernel and initrd a stealthy host boots instead: one with drivers for a real machine's
    /// SATA disk and Intel network card (Debian's generic kernel; the cloud kernel has none).
    public var stealthKernel: Located<String>?
    public var stealthInitrd: Located<String>?
    /// Where relative paths resolve from: the folder of the file that wrote this image.
    public var baseDirectory: String
    public var location: SourceLocation
}

public enum ImageReference: Sendable {
    case named(String)
    case inline(ImageSpec)
}

public enum Egress: String, Sendable, CaseIterable {
    case isolated
    case nat
    case routed
}

/// Whether a network's guests may send with another host's MAC or IP address.
public enum Spoofing: String, Sendable, CaseIterable {
    /// libvirt's `clean-traffic` on every interface (the default): only the interface's own MAC and address.
    case deny
    /// No filter: for labs that teach ARP spoofing and the like.
    case allow
}

public struct NetworkSpec: Sendable {
    public var name: Located<String>
    public var cidr: Located<IPv4Network>?
    public var egress: Located<Egress>?
    public var dhcp: Located<Bool>?
    public var gateway: Located<String>?
    public var bridgeAddress: Located<IPv4Address>?
    public var mtu: Located<Int>?
    /// Record the bridge's traffic to pcap files while the environment runs (a DecoyNet extension).
    public var capture: Located<Bool>?
    public var spoofing: Located<Spoofing>?
    public var location: SourceLocation

    /// The host side of the bridge: given, or the first usable address.
    public var effectiveBridgeAddress: IPv4Address? {
        bridgeAddress?.value ?? cidr?.value.firstUsable
    }
}

public enum Firmware: String, Sendable, CaseIterable {
    case bios
    case uefi
}

public enum NICModel: String, Sendable, CaseIterable {
    case virtio
    case e1000
    case e1000e
    case rtl8139
}

public struct InterfaceSpec: Sendable {
    public var network: Located<String>?
    public var address: Located<IPv4Address>?
    public var mac: Located<MACAddress>?
    public var model: Located<NICModel>?
    public var location: SourceLocation
}

public struct ServiceSpec: Sendable, Hashable {
    public var port: Int
    public var name: String
}

public enum Probe: Sendable, Hashable, CustomStringConvertible {
    case running
    /// Every DHCP interface holds its lease, given again after the host's latest boot.
    case lease
    /// The QEMU guest agent answers (operation tests and `exec` go through it).
    case agent
    case tcp(port: Int)
    /// An HTTP answer below 400; with `expect`, its body must contain that text.
    case http(port: Int, path: String, expect: String? = nil)
    /// A protocol's greeting or minimal exchange on its well-known port.
    case service(ServiceProbe)
    /// The host's DNS server answers NAME with the address the topology gives it.
    case dns(name: String)

    public var description: String {
        switch self {
        case .running: return "running"
        case .lease: return "lease"
        case .agent: return "agent"
        case let .tcp(port): return "tcp:\(port)"
        case let .http(port, path, _): return "http:\(port)\(path)"
        case let .service(kind): return kind.rawValue
        case let .dns(name): return "dns:\(name)"
        }
    }
}

/// Probes that speak a service's protocol: the greeting it sends, or a minimal request.
public enum ServiceProbe: String, Sendable, Hashable, CaseIterable {
    case ssh, smtp, imap, smb, ldap, kerberos, mysql

    public var port: Int {
        switch self {
        case .ssh: 22
        case .smtp: 25
        case .imap: 143
        case .smb: 445
        case .ldap: 389
        case .kerberos: 88
        case .mysql: 3306
        }
    }
}

/// SMBIOS strings, disk model and MAC OUI of a vendor's machines; `qemu` keeps QEMU's own.
public enum HardwareVendor: String, Sendable, CaseIterable {
    case qemu, dell, hp, lenovo, supermicro
}

/// A person of the company: a user on the hosts they own, and in the directory.
public struct PersonSpec: Sendable {
    public var user: Located<String>
    public var name: Located<String>?
    public var department: Located<String>?
    public var title: Located<String>?
    public var password: Located<String>?
}

/// `{generate: N, seed: S}`: N made-up people, the same for the same seed.
public struct PeopleGenerator: Sendable {
    public var count: Located<Int>
    public var seed: Int
}

/// A decoy file on a host: literal `content` (with `{organization}` and friends) or a `source` file.
public struct FileSpec: Sendable {
    public var path: Located<String>
    public var content: Located<String>?
    public var source: Located<String>?
    /// Where a relative `source` resolves from: the folder of the file that wrote it.
    public var baseDirectory: String
    public var location: SourceLocation
}

/// An operation test run from inside a host: a port open or closed, or a name resolving.
public struct CheckSpec: Sendable {
    public enum Kind: Sendable {
        case reach(to: Located<String>, port: Located<Int>, open: Bool)
        case resolve(name: Located<String>, expect: Located<String>)
    }

    public var from: Located<String>
    public var kind: Kind
    public var location: SourceLocation
}

/// One rule of `policy`: traffic from a network (or anywhere) to a network, a host (or anywhere),
/// for the services and ports it lists (every port when it lists none).
public struct PolicyRuleSpec: Sendable {
    public var from: Located<String>
    public var to: Located<String>
    public var services: [Located<String>]
    public var ports: [Located<PolicyPort>]
    public var location: SourceLocation
}

/// `tcp/N`, `udp/N`, or a number (TCP).
public struct PolicyPort: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable, Hashable { case tcp, udp }
    public var transport: Transport
    public var port: Int

    public init(_ transport: Transport, _ port: Int) {
        self.transport = transport
        self.port = port
    }

    public var description: String { "\(transport.rawValue)/\(port)" }
}

/// The fields a host, a template or `defaults` may set; merged by precedence, highest last.
public struct HostFields: Sendable {
    public var template: Located<String>?
    public var extends: Located<String>?
    public var image: Located<ImageReference>?
    public var vcpus: Located<Int>?
    public var memoryMiB: Located<UInt64>?
    public var diskMiB: Located<UInt64>?
    public var firmware: Located<Firmware>?
    public var interfaces: Located<[InterfaceSpec]>?
    public var services: Located<[ServiceSpec]>?
    public var healthTimeout: Located<Int>?
    public var healthProbes: Located<[Located<Probe>]>?
    public var healthRetries: Located<Int>?
    public var count: Located<Int>?
    public var hardware: Located<HardwareVendor>?
    /// A person's user, or `auto` (the k-th host of a count belongs to the k-th person).
    public var owner: Located<String>?
    public var files: Located<[FileSpec]>?
    /// Nothing in the machine says "virtual" to a program inside it (OBSERVE.md, "Stealth").
    public var stealth: Located<Bool>?

    public init() {}

    /// These fields with every field that `higher` sets taken from it: lists replace, never append.
    public func overlaid(by higher: HostFields) -> HostFields {
        var merged = self
        merged.template = higher.template ?? template
        merged.image = higher.image ?? image
        merged.vcpus = higher.vcpus ?? vcpus
        merged.memoryMiB = higher.memoryMiB ?? memoryMiB
        merged.diskMiB = higher.diskMiB ?? diskMiB
        merged.firmware = higher.firmware ?? firmware
        merged.interfaces = higher.interfaces ?? interfaces
        merged.services = higher.services ?? services
        merged.healthTimeout = higher.healthTimeout ?? healthTimeout
        merged.healthProbes = higher.healthProbes ?? healthProbes
        merged.healthRetries = higher.healthRetries ?? healthRetries
        merged.count = higher.count ?? count
        merged.hardware = higher.hardware ?? hardware
        merged.owner = higher.owner ?? owner
        merged.files = higher.files ?? files
        merged.stealth = higher.stealth ?? stealth
        merged.extends = nil
        return merged
    }
}

public struct HostSpec: Sendable {
    public var name: Located<String>
    public var fields: HostFields
    public var location: SourceLocation
}

public struct TemplateSpec: Sendable {
    public var name: Located<String>
    public var fields: HostFields
}

/// The ranges and spellings the language fixes.
public enum Language {
    public static let environmentNameLimit = 20
    public static let nameLimit = 31
    public static let vcpuRange = 1 ... 64
    public static let memoryRangeMiB: ClosedRange<UInt64> = 64 ... 1024 * 1024
    public static let prefixRange = 16 ... 30
    public static let mtuRange = 68 ... 65535
    public static let countRange = 1 ... 100_000
    /// What one topology may make in all, counts and generators expanded: a file of a few lines
    /// must not ask the compiler (or a server validating it for a student) for billions of anything.
    public static let peopleLimit = 20_000
    public static let hostLimit = 5_000
    public static let interfaceLimit = 20_000
    public static let fileLimit = 100_000
    public static let checkLimit = 10_000
    public static let portRange = 1 ... 65535
    public static let defaultHealthTimeout = Naming.defaultHealthTimeoutSeconds
    /// Restarts of a host that panics or misses its health deadline.
    public static let defaultHealthRetries = 2
    public static let retriesRange = 0 ... 10
    /// The least memory of a stealthy host: Debian's generic kernel, which it boots, keeps about 20 MiB
    /// more to itself than the cloud kernel (measured: a 96 MiB PC has 17 MiB left, and `chpasswd` is
    /// killed). More memory is also what a real machine has.
    public static let stealthMemoryMiB: UInt64 = 256

    /// Services that also answer on UDP, for `policy`.
    public static let udpServices: Set<String> = ["dns", "kerberos", "ldap"]

    public static let wellKnownServices: [String: Int] = [
        "ssh": 22, "telnet": 23, "smtp": 25, "dns": 53, "http": 80, "kerberos": 88, "ldap": 389,
        "imap": 143, "https": 443, "smb": 445, "mssql": 1433, "mysql": 3306, "rdp": 3389, "winrm": 5985,
    ]

    /// `^[a-z][a-z0-9-]{0,N-1}$`
    public static func isValidName(_ name: String, limit: Int = nameLimit) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= limit, (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.allSatisfy { (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// A DNS name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most.
    public static func isValidDomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `NAME-01` ... `NAME-N`, zero-padded to the width of N and to two digits at least, as the
    /// language writes it (`-01`); the name itself when N is 1.
    public static func expandedNames(_ name: String, count: Int) -> [String] {
        guard count > 1 else { return [name] }
        let width = max(2, String(count).count)
        return (1 ... count).map { index in
            let digits = String(index)
            return name + "-" + String(repeating: "0", count: width - digits.count) + digits
        }
    }
}
