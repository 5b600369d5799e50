import Topology

/// A fully resolved environment: every default applied, every name, address and identifier
/// chosen. Nothing optional is left that libvirt would need.
public struct ResolvedEnvironment: Sendable {
    public var name: String
    public var description: String?
    public var domain: String?
    /// The libvirt storage pool that holds this environment's overlays.
    public var poolName: String
    public var networks: [ResolvedNetwork]
    public var hosts: [ResolvedHost]
    /// Hosts as declared, before counts were expanded (for graphs and summaries).
    public var groups: [HostGroup]
    /// For a copy made with `--instances`: the topology's own environment name.
    public var instanceOf: String?
    public var organization: String?
    /// Everyone of `people`, each with a password (given, or derived from environment and user).
    public var people: [Person] = []
    public var checks: [ResolvedCheck] = []
    /// Traffic allowed between networks; empty means the gateways forward everything.
    public var policy: [ResolvedPolicyRule] = []
    /// When watched (`observe`, or an internet host): the bytes of captures and timeline kept.
    public var observeBytes: UInt64?
    /// The host of template `internet`: the environment's simulated internet.
    public var internetHost: String?
    /// The hypervisor machine's secret that stealthy hosts' root logins are derived with (`ConsoleKey`);
    /// empty in what `compile` writes, so no root password of a deployed host is in its output.
    public var consoleKey: [UInt8] = []
    /// The people at work, when `activity` is set: each owned workstation acts for its owner.
    public var activity: ActivitySpec?

    /// The internet host's address and network, when there is one.
    public var internet: (host: ResolvedHost, interface: ResolvedInterface)? {
        guard let name = internetHost, let host = hosts.first(where: { $0.name == name }), let interface = host.interfaces.first else { return nil }
        return (host, interface)
    }

    /// The departments the people belong to, sorted.
    public var departments: [String] { Set(people.compactMap(\.department)).sorted() }

    /// Whether the host is some network's gateway.
    public func isGateway(_ host: String) -> Bool { networks.contains { $0.gateway == host } }
}

/// A `policy` rule by names: `from` a network (nil: anywhere), `to` a network or a host (nil:
/// anywhere), the ports it opens (none listed: every port).
public struct ResolvedPolicyRule: Sendable, Equatable {
    public var from: String?
    public var to: String?
    public var tcp: [Int]
    public var udp: [Int]
    /// What the rule says, for the comment above it in the firewall.
    public var label: String

    public var allPorts: Bool { tcp.isEmpty && udp.isEmpty }
}

/// An operation test, by host names.
public struct ResolvedCheck: Sendable, Equatable, Codable {
    public var from: String
    /// `reach`: `to`, `port`, `open`; `resolve`: `name`, `address`.
    public var to: String?
    public var port: Int?
    public var open: Bool?
    public var name: String?
    public var address: String?

    public var label: String {
        if let to, let port, let open { return "\(from) -> \(to):\(port) \(open ? "open" : "closed")" }
        return "\(from) resolves \(name ?? "") to \(address ?? "")"
    }
}

/// A file the seed writes into the host, placeholders replaced.
public struct ResolvedFile: Sendable, Equatable {
    public var path: String
    public var contents: [UInt8]
    public var owner: String?
    public var mode: String
}

public struct ResolvedNetwork: Sendable, Equatable {
    public var name: String
    public var libvirtName: String
    public var uuid: String
    /// The Linux bridge, 15 characters at most.
    public var bridge: String
    public var cidr: IPv4Network
    public var bridgeAddress: IPv4Address
    public var egress: Egress
    public var dhcp: Bool
    public var gateway: String?
    public var gatewayAddress: IPv4Address?
    public var mtu: Int
    /// Whether the deployer records this network's traffic to pcap files.
    public var capture: Bool
    public var spoofing: Spoofing
}

public struct ResolvedImage: Sendable, Equatable {
    /// The name in `images`, or nil for an inline image.
    public var name: String?
    /// Absolute paths from here on.
    public var disk: String?
    public var format: DiskFormat
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    /// What a stealthy host boots instead of `kernel` and `initrd`.
    public var stealthKernel: String?
    public var stealthInitrd: String?
}

public struct ResolvedInterface: Sendable, Equatable {
    public var network: String
    public var address: IPv4Address
    public var mac: MACAddress
    public var model: NICModel
    /// The host side of the interface, `dt-` and ten hex digits.
    public var tap: String
}

public struct ResolvedHost: Sendable {
    public var name: String
    /// The declared name this host was made from (`ws` for `ws-07`).
    public var group: String
    public var libvirtName: String
    public var uuid: String
    public var template: String?
    public var image: ResolvedImage
    public var vcpus: Int
    public var memoryMiB: UInt64
    /// The overlay's virtual size; nil means the size of the base.
    public var diskBytes: UInt64?
    public var firmware: Firmware
    public var interfaces: [ResolvedInterface]
    public var services: [ServiceSpec]
    public var healthTimeoutSeconds: Int
    public var healthRetries = Language.defaultHealthRetries
    public var probes: [Probe]
    /// The overlay volume's name in the pool; nil for hosts that boot a kernel without a disk.
    public var volumeName: String?
    public var hardware: HardwareVendor = .qemu
    /// Nothing in its machine says "virtual": no guest agent, no virtio, firmware of its vendor.
    public var stealth = false
    public var owner: Person?
    public var files: [ResolvedFile] = []
}

public struct HostGroup: Sendable {
    public var name: String
    public var count: Int
    public var template: String?
    /// The networks of its interfaces, in order, with the fixed address when there is one host.
    public var interfaces: [(network: String, address: IPv4Address?)]
}
