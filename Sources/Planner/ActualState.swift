import Compiler
import Hypervisor
import LibvirtXML

/// What the hypervisor holds, read from libvirt itself: there is no state file to lose.
public struct ActualState: Sendable {
    public var networks: [LiveNetwork]
    public var pools: [LivePool]
    public var domains: [LiveDomain]
    /// Volumes of the environment's pool, when it runs.
    public var volumes: [LiveVolume]

    public init(networks: [LiveNetwork], pools: [LivePool], domains: [LiveDomain], volumes: [LiveVolume]) {
        self.networks = networks
        self.pools = pools
        self.domains = domains
        self.volumes = volumes
    }

    public static func read(from hypervisor: any Hypervisor, poolName: String) async throws -> ActualState {
        async let networks = hypervisor.networks()
        async let pools = hypervisor.pools()
        async let domains = hypervisor.domains()
        let poolList = try await pools
        var volumes: [LiveVolume] = []
        if poolList.contains(where: { $0.name == poolName && $0.active }) {
            volumes = try await hypervisor.volumes(pool: poolName)
        }
        return ActualState(networks: try await networks, pools: poolList, domains: try await domains, volumes: volumes)
    }

    /// DecoyNet's metadata of every domain that has it.
    public func ownedDomains(environment: String?) -> [(domain: LiveDomain, metadata: DomainMetadata)] {
        Self.owned(domains).filter { environment == nil || $0.metadata.environment == environment }
    }

    /// The problem, as a sentence, when the environment or a host it is asked for is not there.
    public struct MissingHosts: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The environment's domains named in `hosts` (all of them when `hosts` is empty), in its order.
    public func ownedDomains(environment: String, hosts: [String], uri: String) throws(MissingHosts) -> [(domain: LiveDomain, metadata: DomainMetadata)] {
        let owned = ownedDomains(environment: environment)
        guard !owned.isEmpty else { throw MissingHosts(description: "no environment \(environment) on \(uri)") }
        let known = owned.map(\.metadata.host)
        let unknown = hosts.filter { !known.contains($0) }
        if !unknown.isEmpty {
            throw MissingHosts(description: "no host \(unknown.joined(separator: ", ")) in \(environment); its hosts are \(known.sorted().joined(separator: ", "))")
        }
        return owned.filter { hosts.isEmpty || hosts.contains($0.metadata.host) }
    }

    /// The domains among `domains` that carry DecoyNet's metadata, with it read.
    public static func owned(_ domains: [LiveDomain]) -> [(domain: LiveDomain, metadata: DomainMetadata)] {
        domains.compactMap { domain in
            guard let xml = domain.metadata, let metadata = DomainMetadata(xml: xml) else { return nil }
            return (domain, metadata)
        }
    }
}
