import Topology

/// What the timeline knows of an environment: its networks and which host holds which address, so
/// that an address seen on a bridge is named as the environment names it. Written beside the
/// timeline when watching starts; plain values, so that the watcher needs no topology.
public struct AddressBook: Sendable, Equatable, Codable {
    public struct Network: Sendable, Equatable, Codable {
        public var name: String
        public var cidr: String
        /// The host side of the bridge: DHCP, DNS and health probes of DecoyNet itself.
        public var bridgeAddress: String

        public init(name: String, cidr: String, bridgeAddress: String) {
            self.name = name
            self.cidr = cidr
            self.bridgeAddress = bridgeAddress
        }
    }

    public var environment: String
    public var networks: [Network]
    /// Address -> host name.
    public var hosts: [String: String]
    /// Hosts that stand for the outside (template `internet`): talking to them is talking outside.
    public var outsideHosts: [String]

    public init(environment: String, networks: [Network], hosts: [String: String], outsideHosts: [String] = []) {
        self.environment = environment
        self.networks = networks
        self.hosts = hosts
        self.outsideHosts = outsideHosts
        index()
    }

    private var parsed: [(name: String, network: IPv4Network)] = []
    private var outsideSet: Set<String> = []
    /// Networks an outside host is on: their addresses that no host holds are the outside too.
    private var outsideNetworks: Set<String> = []

    private mutating func index() {
        parsed = networks.compactMap { network in
            (try? IPv4Network.parse(network.cidr).get()).map { (network.name, $0) }
        }
        outsideSet = Set(outsideHosts)
        outsideNetworks = Set(hosts.filter { outsideSet.contains($0.value) }.compactMap { network(of: $0.key) })
    }

    enum CodingKeys: String, CodingKey { case environment, networks, hosts, outsideHosts = "outside_hosts" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(environment: try container.decode(String.self, forKey: .environment),
                  networks: try container.decode([Network].self, forKey: .networks),
                  hosts: try container.decode([String: String].self, forKey: .hosts),
                  outsideHosts: try container.decodeIfPresent([String].self, forKey: .outsideHosts) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(environment, forKey: .environment)
        try container.encode(networks, forKey: .networks)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(outsideHosts, forKey: .outsideHosts)
    }

    public static func == (lhs: AddressBook, rhs: AddressBook) -> Bool {
        lhs.environment == rhs.environment && lhs.networks == rhs.networks && lhs.hosts == rhs.hosts && lhs.outsideHosts == rhs.outsideHosts
    }

    /// The environment's network that holds `address`, if any.
    public func network(of address: String) -> String? {
        guard let ip = IPv4Address(address) else { return nil }
        return parsed.first { $0.network.contains(ip) }?.name
    }

    public func endpoint(_ address: String) -> TimelineEvent.Endpoint {
        TimelineEvent.Endpoint(host: hosts[address], address: address)
    }

    /// Outside the environment: in none of its networks, held by a host that stands for the outside,
    /// or on such a host's network and held by no host.
    public func isOutside(_ address: String) -> Bool {
        if let host = hosts[address] { return outsideSet.contains(host) }
        if PacketDecoder.isGroupAddress(address) { return false }
        guard let network = network(of: address) else { return true }
        return outsideNetworks.contains(network) && !isBridge(address)
    }

    /// A bridge address: DecoyNet's own side of a network (DHCP, DNS forwarding, probes), not a host's.
    public func isBridge(_ address: String) -> Bool {
        networks.contains { $0.bridgeAddress == address }
    }

    /// The network whose capture reports a packet: the sender's, else the receiver's. A packet routed
    /// between networks crosses several bridges; this keeps one event for it.
    public func home(source: String, destination: String) -> String? {
        network(of: source) ?? network(of: destination)
    }
}
