import Compiler
import Hypervisor
import LibvirtXML
import Naming
import Planner

/// What `status` and `list` show, read from libvirt alone.
public struct NetworkStatus: Sendable, Codable {
    public var name: String
    public var active: Bool
    public var bridge: String
    public var address: String
    public var egress: String
    public var dhcpReservations: Int
}

public struct DomainStatus: Sendable, Codable {
    public var host: String
    public var domain: String
    public var state: String
    public var addresses: [String]
}

public struct EnvironmentStatus: Sendable, Codable {
    public var environment: String
    public var networks: [NetworkStatus]
    public var domains: [DomainStatus]
    public var pool: String?
}

public struct EnvironmentSummary: Sendable, Codable {
    public var environment: String
    /// For a copy made with `--instances`: the topology's own environment name.
    public var instanceOf: String?
    public var domains: Int
    public var running: Int
    public var networks: Int
}

public enum StatusReader {
    public static func status(environment: String, hypervisor: any Hypervisor) async throws -> EnvironmentStatus {
        let actual = try await ActualState.read(from: hypervisor, poolName: Naming.pool(environment: environment))
        return status(environment: environment, actual: actual)
    }

    static func status(environment: String, actual: ActualState) -> EnvironmentStatus {
        let networks = actual.networks.filter { DesiredState.isOwnNetwork(LiveNetworkIdentity(name: $0.name, uuid: $0.uuid), environment: environment) }
            .map { live -> NetworkStatus in
                let document = Network(xml: live.xml)
                let ip = document?.ips.first
                return NetworkStatus(name: live.name, active: live.active, bridge: document?.bridge.name ?? "",
                                     address: ip.map { "\($0.address)/\($0.prefix)" } ?? "",
                                     egress: document?.forward?.mode ?? "isolated", dhcpReservations: document?.dhcpHosts.count ?? 0)
            }
        let domains = actual.ownedDomains(environment: environment).map { live, metadata in
            DomainStatus(host: metadata.host, domain: live.name, state: live.state.rawValue, addresses: metadata.interfaces.map(\.address))
        }
        let pool = actual.pools.first { $0.name == Naming.pool(environment: environment) }?.name
        return EnvironmentStatus(environment: environment, networks: networks, domains: domains, pool: pool)
    }

    /// Every environment on the connection: those with domains carrying DecoyNet metadata, and
    /// those with only a DecoyNet pool left.
    public static func list(hypervisor: any Hypervisor) async throws -> [EnvironmentSummary] {
        async let domains = hypervisor.domains()
        async let networks = hypervisor.networks()
        async let pools = hypervisor.pools()
        let actual = ActualState(networks: try await networks, pools: try await pools, domains: try await domains, volumes: [])
        var names = Set(actual.ownedDomains(environment: nil).map(\.metadata.environment))
        for pool in actual.pools where pool.name.hasPrefix("decoynet-") { names.insert(String(pool.name.dropFirst("decoynet-".count))) }
        return names.sorted().map { name in
            let owned = actual.ownedDomains(environment: name)
            let networks = actual.networks.filter { DesiredState.isOwnNetwork(LiveNetworkIdentity(name: $0.name, uuid: $0.uuid), environment: name) }
            return EnvironmentSummary(environment: name, instanceOf: owned.lazy.compactMap(\.metadata.instanceOf).first,
                                      domains: owned.count, running: owned.filter { $0.domain.state == .running }.count,
                                      networks: networks.count)
        }
    }
}
