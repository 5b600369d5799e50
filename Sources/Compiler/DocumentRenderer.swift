import Digest
import LibvirtXML
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
}

/// Every document of an environment, in the order their objects are declared.
public struct CompiledEnvironment: Sendable {
    public var networks: [CompiledDocument]
    public var domains: [CompiledDocument]
    public var volumes: [CompiledDocument]
}

/// Maps a resolved environment onto libvirt's network, domain and volume documents.
public enum DocumentRenderer {
    public static func render(_ environment: ResolvedEnvironment, acceleration: Acceleration) -> CompiledEnvironment {
        let networks = environment.networks.map { network in
            CompiledDocument(name: network.libvirtName, xml: networkDocument(network, in: environment).serialized())
        }
        var domains: [CompiledDocument] = []
        var volumes: [CompiledDocument] = []
        domains.reserveCapacity(environment.hosts.count)
        for host in environment.hosts {
            let volume = volumeDocument(host)
            let volumeXML = volume?.serialized()
            if let volumeXML, let name = host.volumeName { volumes.append(CompiledDocument(name: name, xml: volumeXML)) }
            domains.append(CompiledDocument(name: host.libvirtName, xml: domainXML(host, in: environment, acceleration: acceleration, volumeXML: volumeXML)))
        }
        return CompiledEnvironment(networks: networks, domains: domains, volumes: volumes)
    }

    public static func networkDocument(_ network: ResolvedNetwork, in environment: ResolvedEnvironment) -> Network {
        var dnsHosts: [NetworkDNSHost] = []
        var dhcpHosts: [NetworkDHCPHost] = []
        for host in environment.hosts {
            guard let first = host.interfaces.first else { continue }
            let local = host.interfaces.first { $0.network == network.name } ?? first
            var names = [host.name]
            if let domain = environment.domain { names.append(host.name + "." + domain) }
            dnsHosts.append(NetworkDNSHost(ip: local.address.description, hostnames: names))
            var named = false
            for interface in host.interfaces where interface.network == network.name {
                dhcpHosts.append(NetworkDHCPHost(mac: interface.mac.description, name: named ? nil : host.name, ip: interface.address.description))
                named = true
            }
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
            domain: environment.domain.map { NetworkDomain(name: $0) },
            dns: NetworkDNS(hosts: dnsHosts),
            ips: [NetworkIP(address: network.bridgeAddress.description, prefix: network.cidr.prefixLength,
                            dhcp: network.dhcp ? NetworkDHCP(hosts: dhcpHosts) : nil)],
            dnsmasqOptions: options
        )
    }

    public static func volumeDocument(_ host: ResolvedHost) -> StorageVolume? {
        guard let name = host.volumeName, let disk = host.image.disk else { return nil }
        return StorageVolume(name: name, capacityBytes: host.diskBytes,
                             backingStore: StorageVolumeBackingStore(path: disk, format: host.image.format.rawValue))
    }

    public static func domainDocument(_ host: ResolvedHost, in environment: ResolvedEnvironment, acceleration: Acceleration) -> Domain {
        let networks = Dictionary(environment.networks.map { ($0.name, $0.libvirtName) }, uniquingKeysWith: { first, _ in first })
        var disks: [DomainDisk] = []
        if let volume = host.volumeName {
            disks.append(DomainDisk(pool: environment.poolName, volume: volume))
        }
        let os = DomainOS(
            firmware: host.firmware == .uefi ? "efi" : nil,
            kernel: host.image.kernel,
            initrd: host.image.initrd,
            cmdline: host.image.kernel == nil ? nil : host.image.cmdline,
            bootDevices: host.image.kernel == nil ? ["hd"] : []
        )
        return Domain(
            type: acceleration.rawValue,
            name: host.libvirtName,
            uuid: host.uuid,
            memoryMiB: host.memoryMiB,
            vcpus: host.vcpus,
            os: os,
            cpuMode: acceleration == .kvm ? "host-passthrough" : nil,
            disks: disks,
            interfaces: host.interfaces.map { DomainInterface(mac: $0.mac.description, network: networks[$0.network] ?? $0.network, model: $0.model.rawValue) },
            serialLogFile: "/var/log/libvirt/qemu/\(host.libvirtName)-serial.log"
        )
    }

    /// The domain document with its metadata, whose digest covers the rest of the document and the overlay's.
    static func domainXML(_ host: ResolvedHost, in environment: ResolvedEnvironment, acceleration: Acceleration, volumeXML: String?) -> String {
        var domain = domainDocument(host, in: environment, acceleration: acceleration)
        var hasher = SHA256()
        hasher.update(domain.serialized())
        if let volumeXML { hasher.update(volumeXML) }
        domain.metadata = DomainMetadata(environment: environment.name, host: host.name, digest: "sha256:" + hasher.finalize().hexString)
        return domain.serialized()
    }
}
