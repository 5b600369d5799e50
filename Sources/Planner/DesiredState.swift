import Compiler
import LibvirtXML
import Naming

/// What an environment should be on the hypervisor: its compiled documents, indexed for planning.
public struct DesiredState: Sendable {
    public struct NetworkObject: Sendable {
        public var name: String
        /// The network's name in the topology.
        public var network: String
        public var uuid: String
        public var xml: String
        public var document: Network
        public var bridge: String
        public var capture: Bool
    }

    public struct DomainObject: Sendable {
        public var name: String
        public var host: String
        public var xml: String
        public var digest: String
        public var volume: CompiledDocument?
        /// The NoCloud seed, written as an ISO image into its own volume when the domain is built.
        public var seed: SeedVolume
        /// A stealthy host's SMBIOS structures, each a raw volume QEMU reads as a file.
        public var firmware: [FirmwareVolume] = []
        /// libvirt names of the networks it attaches to.
        public var networks: [String]
        /// Host memory it may take: the guest's memory plus what QEMU needs beside it (TCG's
        /// translation cache under emulation, the process itself).
        public var hostMemoryMiB: UInt64 = 0
    }

    public struct FirmwareVolume: Sendable {
        public var name: String
        public var bytes: [UInt8]
    }

    public struct SeedVolume: Sendable {
        public var name: String
        public var seed: HostSeed
    }

    public var environment: String
    public var poolName: String
    public var poolUUID: String
    public var poolXML: String
    public var networks: [NetworkObject]
    public var domains: [DomainObject]

    /// `poolRoot` is the folder under which the environment's pool keeps its overlays.
    public init(_ environment: ResolvedEnvironment, acceleration: Acceleration, poolRoot: String) {
        let compiled = DocumentRenderer.render(environment, acceleration: acceleration, poolRoot: poolRoot)
        self.environment = environment.name
        let pool = DocumentRenderer.poolDocument(environment, root: poolRoot)
        poolName = pool.name
        poolUUID = pool.uuid
        poolXML = pool.serialized()
        networks = zip(environment.networks, compiled.networks).map { network, document in
            NetworkObject(name: network.libvirtName, network: network.name, uuid: network.uuid, xml: document.xml,
                          document: DocumentRenderer.networkDocument(network, in: environment), bridge: network.bridge, capture: network.capture)
        }
        let libvirtNames = Dictionary(environment.networks.map { ($0.name, $0.libvirtName) }, uniquingKeysWith: { first, _ in first })
        let volumes = Dictionary(compiled.volumes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        domains = zip(zip(environment.hosts, compiled.domains), compiled.seeds).map { pair, seed in
            let (host, document) = pair
            var object = DomainObject(name: host.libvirtName, host: host.name, xml: document.xml, digest: document.digest ?? "",
                                      volume: host.volumeName.flatMap { volumes[$0] },
                                      seed: SeedVolume(name: Naming.seed(domain: host.libvirtName), seed: seed.seed),
                                      networks: Array(Set(host.interfaces.compactMap { libvirtNames[$0.network] })).sorted(),
                                      hostMemoryMiB: DocumentRenderer.hostMemoryMiB(host, acceleration: acceleration))
            object.firmware = DocumentRenderer.firmwareFiles(host, in: environment).map { FirmwareVolume(name: $0.name, bytes: $0.bytes) }
            return object
        }
    }

    /// The networks an environment of this name owns, found by the UUID DecoyNet derives for them.
    public static func isOwnNetwork(_ network: LiveNetworkIdentity, environment: String) -> Bool {
        let prefix = environment + "-"
        guard network.name.hasPrefix(prefix) else { return false }
        return network.uuid == Identifiers.networkUUID(environment: environment, network: String(network.name.dropFirst(prefix.count)))
    }
}

/// The part of a live network that tells whose it is.
public struct LiveNetworkIdentity: Sendable {
    public var name: String
    public var uuid: String

    public init(name: String, uuid: String) {
        self.name = name
        self.uuid = uuid
    }
}
