import Digest
import LibvirtXML
import Naming
import Topology

/// Which hypervisor the domains ask for: `kvm`, or `qemu` (TCG) where KVM cannot boot guests.
public enum Acceleration: String, Sendable, CaseIterable {
    case kvm
    case qemu
}

/// One libvirt document, named after the object it defines.
public struct CompiledDocument: Sendable, Equatable {
    public var name: String
    public var xml: String
    /// For domains: the digest written in their metadata.
    public var digest: String?

    public init(name: String, xml: String, digest: String? = nil) {
        self.name = name
        self.xml = xml
        self.digest = digest
    }
}

/// Every document of an environment, in the order their objects are declared.
public struct CompiledEnvironment: Sendable {
    public var networks: [CompiledDocument]
    public var domains: [CompiledDocument]
    public var volumes: [CompiledDocument]
    /// Each host's NoCloud seed, by host name, in host order.
    public var seeds: [(host: String, seed: HostSeed)] = []
}

/// Maps a resolved environment onto libvirt's network, domain and volume documents.
public enum DocumentRenderer {
    /// `poolRoot` is where the environment's pool keeps its volumes on the hypervisor (stealthy hosts'
    /// SMBIOS files are named there by path).
    public static func render(_ environment: ResolvedEnvironment, acceleration: Acceleration, poolRoot: String = Naming.defaultPoolRoot) -> CompiledEnvironment {
        let networks = environment.networks.map { network in
            CompiledDocument(name: network.libvirtName, xml: networkDocument(network, in: environment).serialized())
        }
        let networkNames = Dictionary(environment.networks.map { ($0.name, $0.libvirtName) }, uniquingKeysWith: { first, _ in first })
        let rendered = parallelMap(environment.hosts) { host -> (domain: CompiledDocument, volume: CompiledDocument?, seed: HostSeed) in
            let volumeXML = volumeDocument(host)?.serialized()
            let seed = SeedRenderer.render(host, in: environment)
            let domain = domainXML(host, in: environment, networks: networkNames, acceleration: acceleration, volumeXML: volumeXML, seed: seed,
                                   poolRoot: poolRoot)
            let volume = host.volumeName.flatMap { name in volumeXML.map { CompiledDocument(name: name, xml: $0) } }
            return (CompiledDocument(name: host.libvirtName, xml: domain.xml, digest: domain.digest), volume, seed)
        }
        return CompiledEnvironment(networks: networks, domains: rendered.map { $0.domain }, volumes: rendered.compactMap { $0.volume },
                                   seeds: zip(environment.hosts, rendered).map { ($0.name, $1.seed) })
    }

    /// The raw volume `name` that holds a seed image of `bytes` bytes.
    public static func seedVolumeDocument(name: String, bytes: Int) -> StorageVolume {
        StorageVolume(name: name, capacityBytes: UInt64(bytes), format: "raw", backingStore: nil)
    }

    /// The raw volume `name` of a stealthy host's SMBIOS structure of `bytes` bytes: readable by the
    /// QEMU user, since QEMU opens it by path (`-smbios file=`) and libvirt labels only disks.
    public static func firmwareVolumeDocument(name: String, bytes: Int) -> StorageVolume {
        var volume = StorageVolume(name: name, capacityBytes: UInt64(bytes), format: "raw", backingStore: nil)
        volume.mode = "0644"
        return volume
    }

    public static func networkDocument(_ network: ResolvedNetwork, in environment: ResolvedEnvironment) -> Network {
        var dnsHosts: [NetworkDNSHost] = []
        var dhcpHosts: [NetworkDHCPHost] = []
        // A network names its own hosts; the rest of the domain is asked of the environment's DNS
        // server (listing every host on every network grew the documents with networks x hosts).
        // Without a DNS server, every network names every host, at its address there if it has one.
        let server = environment.domain == nil ? nil : dnsServer(environment)
        for host in environment.hosts {
            let here = host.interfaces.first { $0.network == network.name }
            guard let local = here ?? (server == nil ? host.interfaces.first : nil) else { continue }
            var names = [host.name]
            if let domain = environment.domain { names.append(host.name + "." + domain) }
            dnsHosts.append(NetworkDNSHost(ip: local.address.description, hostnames: names))
            var named = false
            for interface in host.interfaces where interface.network == network.name {
                dhcpHosts.append(NetworkDHCPHost(mac: interface.mac.description, name: named ? nil : host.name, ip: interface.address.description))
                named = true
            }
        }
        var forwarders: [NetworkDNSForwarder] = []
        if let domain = environment.domain, let server {
            let address = (server.interfaces.first { $0.network == network.name } ?? server.interfaces[0]).address
            forwarders.append(NetworkDNSForwarder(domain: domain, address: address.description))
        }
        // Every other name is the internet's: its DNS answers each with an address it serves.
        if let internet = environment.internet {
            forwarders.append(NetworkDNSForwarder(domain: nil, address: internet.interface.address.description))
        }
        let forward: NetworkForward? = switch network.egress {
        case .isolated: nil
        case .nat: NetworkForward(mode: "nat")
        case .routed: NetworkForward(mode: "route")
        }
        var options: [String] = []
        if network.dhcp, let gateway = network.gatewayAddress { options.append("dhcp-option=option:router,\(gateway)") }
        return Network(
            name: network.libvirtName,
            uuid: network.uuid,
            forward: forward,
            bridge: NetworkBridge(name: network.bridge),
            mtu: network.mtu,
            domain: environment.domain.map { NetworkDomain(name: $0, localOnly: !forwarders.contains { $0.domain != nil }) },
            dns: NetworkDNS(hosts: dnsHosts, forwarders: forwarders),
            ips: [NetworkIP(address: network.bridgeAddress.description, prefix: network.cidr.prefixLength,
                            dhcp: network.dhcp ? NetworkDHCP(hosts: dhcpHosts) : nil)],
            dnsmasqOptions: options
        )
    }

    /// The host that answers for the whole domain: the first with a `dns` service that serves a zone
    /// of every host (a domain controller's own DNS knows only what joined it; the internet's DNS
    /// answers every name with itself).
    static func dnsServer(_ environment: ResolvedEnvironment) -> ResolvedHost? {
        environment.hosts.first { host in
            !host.interfaces.isEmpty && host.services.contains { $0.name == "dns" } && !DomainNames.isDomainController(services: host.services)
                && host.name != environment.internetHost
        }
    }

    /// The directory pool of the environment's overlays, under `root`.
    public static func poolDocument(_ environment: ResolvedEnvironment, root: String) -> StoragePool {
        StoragePool(name: environment.poolName, uuid: Identifiers.poolUUID(environment: environment.name), path: root + "/" + environment.name)
    }

    public static func volumeDocument(_ host: ResolvedHost) -> StorageVolume? {
        guard let name = host.volumeName, let disk = host.image.disk else { return nil }
        return StorageVolume(name: name, capacityBytes: host.diskBytes,
                             backingStore: StorageVolumeBackingStore(path: disk, format: host.image.format.rawValue))
    }

    public static func domainDocument(_ host: ResolvedHost, in environment: ResolvedEnvironment, acceleration: Acceleration,
                                      poolRoot: String = Naming.defaultPoolRoot) -> Domain {
        let networks = Dictionary(environment.networks.map { ($0.name, $0.libvirtName) }, uniquingKeysWith: { first, _ in first })
        return domainDocument(host, in: environment, networks: networks, acceleration: acceleration, poolRoot: poolRoot)
    }

    static func domainDocument(_ host: ResolvedHost, in environment: ResolvedEnvironment, networks: [String: String], acceleration: Acceleration,
                               poolRoot: String) -> Domain {
        if host.stealth { return stealthyDomainDocument(host, in: environment, networks: networks, acceleration: acceleration, poolRoot: poolRoot) }
        let profile = HardwareProfile.profile(host.hardware)
        let vendorMade = host.hardware != .qemu
        var disks: [DomainDisk] = []
        if let volume = host.volumeName {
            // A vendor's machine shows its RAID controller's volume, with a serial, on a SCSI bus.
            disks.append(vendorMade
                ? DomainDisk(pool: environment.poolName, volume: volume, targetDevice: "sda", bus: "scsi",
                             serial: Identifiers.serial("\(environment.name)/\(host.name)/disk", length: 16),
                             vendor: profile.diskVendor, product: profile.diskProduct)
                : DomainDisk(pool: environment.poolName, volume: volume))
        }
        disks.append(DomainDisk(pool: environment.poolName, volume: Naming.seed(domain: host.libvirtName), format: "raw",
                                targetDevice: "vdz", readOnly: true))
        var domain = machine(host, acceleration: acceleration, cpuMode: acceleration == .kvm ? "host-passthrough" : nil, disks: disks,
                             interfaces: host.interfaces.map { card($0, networks: networks) })
        domain.guestAgent = true
        domain.panicDevice = true
        // Nothing plugs into USB here, and QEMU's xHCI costs idle CPU; a stealthy host has its Intel EHCI.
        domain.usb = false
        if vendorMade { domain.sysinfo = sysinfo(host, in: environment, profile: profile) }
        return domain
    }

    /// What every host's domain has: its boot, memory, processors, disks, cards, console log and TCG cache.
    static func machine(_ host: ResolvedHost, acceleration: Acceleration, cpuMode: String?, disks: [DomainDisk], interfaces: [DomainInterface]) -> Domain {
        let os = DomainOS(firmware: host.firmware == .uefi ? "efi" : nil, kernel: host.image.kernel, initrd: host.image.initrd,
                          cmdline: host.image.kernel == nil ? nil : host.image.cmdline, bootDevices: host.image.kernel == nil ? ["hd"] : [])
        var domain = Domain(type: acceleration.rawValue, name: host.libvirtName, uuid: host.uuid, memoryMiB: host.memoryMiB, vcpus: host.vcpus,
                            os: os, cpuMode: cpuMode, disks: disks, interfaces: interfaces,
                            serialLogFile: "/var/log/libvirt/qemu/\(host.libvirtName)-serial.log")
        domain.tcgCacheMiB = tcgCacheMiB(memoryMiB: host.memoryMiB)
        return domain
    }

    static func card(_ interface: ResolvedInterface, networks: [String: String]) -> DomainInterface {
        DomainInterface(mac: interface.mac.description, network: networks[interface.network] ?? interface.network,
                        model: interface.model.rawValue, target: interface.tap)
    }

    /// A stealthy host: its vendor's machine with nothing that says "virtual" (OBSERVE.md, "Stealth").
    /// The disk and the seed's disk on the chipset's SATA controller, Intel network cards in
    /// the chipset's own slots, Intel's EHCI for USB; no guest agent, balloon, RNG, pvpanic or
    /// vmport; the processor, ACPI ids and SMBIOS of `StealthMachine`.
    static func stealthyDomainDocument(_ host: ResolvedHost, in environment: ResolvedEnvironment, networks: [String: String],
                                       acceleration: Acceleration, poolRoot: String) -> Domain {
        let profile = HardwareProfile.profile(host.hardware)
        let desktop = HardwareProfile.isDesktop(template: host.template)
        let stealth = StealthMachine.machine(profile, desktop: desktop)
        var disks: [DomainDisk] = []
        if let volume = host.volumeName {
            disks.append(DomainDisk(pool: environment.poolName, volume: volume, targetDevice: "sda", bus: "sata",
                                    serial: Identifiers.serial("\(environment.name)/\(host.name)/disk", length: 8)))
        }
        // The seed on a second SATA disk: QEMU's ATAPI drive answers INQUIRY as "QEMU DVD-ROM" whatever
        // its model, and an IDE disk cannot be read-only.
        disks.append(DomainDisk(pool: environment.poolName, volume: Naming.seed(domain: host.libvirtName), format: "raw",
                                targetDevice: "sdb", bus: "sata", serial: Identifiers.serial("\(environment.name)/\(host.name)/seed", length: 8)))
        var domain = machine(host, acceleration: acceleration, cpuMode: nil, disks: disks, interfaces: host.interfaces.enumerated().map { index, interface in
            var nic = card(interface, networks: networks)
            // Slots 02 to 1b, below the chipset's own (1c-1f); more cards go behind its root port.
            nic.rootSlot = index < 26 ? 2 + index : nil
            nic.bootROM = false
            return nic
        })
        domain.virtioRNG = false
        domain.memoryBalloon = false
        // The chipset's own places: Intel's EHCI at 00:1d.0 and a root port at 00:1c.0 (Intel's, where
        // libvirt would add Red Hat's for hotplug), so no Red Hat bridge or port appears.
        domain.usbController = DomainController(model: "ich9-ehci1", slot: 0x1D)
        domain.rootPort = DomainController(model: "ioh3420", slot: 0x1C)
        domain.vmport = false
        // QEMU's own names (BXPC, QEMU0002, WAET, Red Hat's PCI subsystem) renamed in its binary.
        domain.emulator = Naming.stealthEmulator
        var sysinfo = sysinfo(host, in: environment, profile: profile)
        // QEMU writes its machine type ("pc-q35-7.2") where a version is not given.
        sysinfo.system["version"] = "Not Specified"
        sysinfo.baseboard["version"] = "A01"
        sysinfo.bios = [:]
        sysinfo.chassis = [:]
        domain.sysinfo = sysinfo
        let folder = poolRoot + "/" + environment.name
        let files = firmwareFiles(host, in: environment).map { folder + "/" + $0.name }
        domain.qemuArguments = stealth.qemuArguments(smbiosFiles: files, serial: Identifiers.serial("\(environment.name)/\(host.name)/memory", length: 8),
                                                     kvm: acceleration == .kvm)
        return domain
    }

    /// The SMBIOS types a stealthy host's files hold: BIOS (0) and chassis (3).
    public static let firmwareTypes = [0, 3]

    /// A stealthy host's SMBIOS structures, each a volume of its pool that QEMU reads as a file; none
    /// for other hosts.
    public static func firmwareFiles(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> [(name: String, bytes: [UInt8])] {
        guard host.stealth else { return [] }
        let profile = HardwareProfile.profile(host.hardware)
        let stealth = StealthMachine.machine(profile, desktop: HardwareProfile.isDesktop(template: host.template))
        let serial = Identifiers.serial("\(environment.name)/\(host.name)/system", length: profile.serialLength)
        let structures = [0: StealthMachine.biosStructure(profile, uefi: host.firmware == .uefi), 3: stealth.chassisStructure(profile, serial: serial)]
        return firmwareTypes.map { (Naming.firmware(domain: host.libvirtName, smbiosType: $0), structures[$0]!) }
    }

    /// TCG's translation cache, in MiB: QEMU's default (1 GiB, never given back) would cost a
    /// guest more host memory than the guest itself; an eighth of the guest's memory, 32 to 128
    /// MiB, keeps a decoy's working set of code (boot and a few daemons) without thrashing.
    static func tcgCacheMiB(memoryMiB: UInt64) -> UInt64 {
        min(128, max(32, memoryMiB / 8))
    }

    /// What QEMU itself takes beside a guest's memory (measured: 35-45 MiB for a small guest).
    public static let qemuOverheadMiB: UInt64 = 40

    /// The host memory a domain may take: its guest memory, TCG's cache, QEMU itself.
    public static func hostMemoryMiB(_ host: ResolvedHost, acceleration: Acceleration) -> UInt64 {
        host.memoryMiB + (acceleration == .qemu ? tcgCacheMiB(memoryMiB: host.memoryMiB) : 0) + qemuOverheadMiB
    }

    /// Gateways and the hosts others resolve or log in through boot first; then servers; then the
    /// people's machines.
    static func bootOrder(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> Int {
        let names = Set(host.services.map(\.name))
        if environment.isGateway(host.name) || !names.isDisjoint(with: ["dns", "ldap", "kerberos"]) { return 0 }
        if host.owner != nil || host.template?.contains("workstation") == true { return 2 }
        return 1
    }

    /// SMBIOS tables of the vendor's server or desktop, with serials derived from the host.
    static func sysinfo(_ host: ResolvedHost, in environment: ResolvedEnvironment, profile: HardwareProfile) -> DomainSysinfo {
        let product = HardwareProfile.isDesktop(template: host.template) ? profile.desktopProduct : profile.serverProduct
        let serial = Identifiers.serial("\(environment.name)/\(host.name)/system", length: profile.serialLength)
        let board = Identifiers.serial("\(environment.name)/\(host.name)/board", length: profile.serialLength + 6)
        return DomainSysinfo(
            bios: ["vendor": profile.biosVendor, "version": profile.biosVersion, "date": "03/14/2024"],
            system: ["manufacturer": profile.manufacturer, "product": product, "serial": serial, "family": product.split(separator: " ").first.map(String.init) ?? product,
                     "sku": "SKU=" + product.replacingOccurrences(of: " ", with: "")],
            baseboard: ["manufacturer": profile.manufacturer, "product": product, "serial": board],
            chassis: ["manufacturer": profile.manufacturer, "serial": serial, "asset": "Not Specified"]
        )
    }

    /// The domain document with its metadata. The digest is the SHA-256 of this same document with
    /// the digest's 64 hex digits written as zeros, followed by the overlay's document: it covers
    /// everything the domain is made of, and the document is serialised once.
    static func domainXML(_ host: ResolvedHost, in environment: ResolvedEnvironment, networks: [String: String],
                          acceleration: Acceleration, volumeXML: String?, seed: HostSeed? = nil,
                          poolRoot: String = Naming.defaultPoolRoot) -> (xml: String, digest: String) {
        var domain = domainDocument(host, in: environment, networks: networks, acceleration: acceleration, poolRoot: poolRoot)
        let dhcp = Set(environment.networks.filter(\.dhcp).map(\.name))
        domain.metadata = DomainMetadata(
            environment: environment.name, host: host.name, digest: digestPrefix + zeroDigest,
            healthTimeoutSeconds: host.healthTimeoutSeconds, probes: host.probes.map(\.description),
            interfaces: host.interfaces.map {
                DomainMetadataInterface(network: $0.network, mac: $0.mac.description, address: $0.address.description, dhcp: dhcp.contains($0.network))
            },
            instanceOf: environment.instanceOf
        )
        for probe in host.probes {
            if case let .http(_, _, expect?) = probe { domain.metadata?.expectations[probe.description] = expect }
        }
        domain.metadata?.checks = environment.checks.filter { $0.from == host.name }.map { check in
            if let to = check.to {
                // A host's first address, or the address the check names (inside or outside the environment).
                let address = environment.hosts.first { $0.name == to }?.interfaces.first?.address.description ?? IPv4Address(to)?.description
                return DomainMetadataCheck(to: to, address: address, port: check.port, expect: check.open == true ? "open" : "closed")
            }
            return DomainMetadataCheck(name: check.name, expect: check.address ?? "")
        }
        domain.metadata?.retries = host.healthRetries
        domain.metadata?.bootOrder = bootOrder(host, in: environment)
        // A stealthy host has no guest agent to read evidence through.
        if Firewall.enforces(host, in: environment), !host.stealth {
            domain.metadata?.evidence = [DomainMetadataEvidence(file: "firewall-drops.log", command: Firewall.dropLogCommand)]
        }
        domain.metadata?.stealth = host.stealth
        let unsigned = domain.serialized()
        var hasher = SHA256()
        hasher.update(unsigned)
        if let volumeXML { hasher.update(volumeXML) }
        if let seed { for file in seed.files { hasher.update(file.contents) } }
        for file in firmwareFiles(host, in: environment) { hasher.update(file.bytes) }
        let digest = hasher.finalize().hexString
        var bytes = Array(unsigned.utf8)
        let placeholder = Array(("digest=\"" + digestPrefix + zeroDigest).utf8)
        // The metadata sits near the top of the document, so a plain forward scan finds it at once.
        guard let start = bytes.indices.dropLast(placeholder.count - 1).first(where: { index in
            bytes[index] == placeholder[0] && bytes[index ..< index + placeholder.count].elementsEqual(placeholder)
        }) else { return (unsigned, digestPrefix + digest) }
        let end = start + placeholder.count
        bytes.replaceSubrange(end - 64 ..< end, with: digest.utf8)
        return (String(decoding: bytes, as: UTF8.self), digestPrefix + digest)
    }

    static let digestPrefix = "sha256:"
    static let zeroDigest = String(repeating: "0", count: 64)
}
