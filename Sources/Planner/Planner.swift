import Compiler
import Hypervisor
import LibvirtXML
import Naming

/// Compares desired with actual state and decides, object by object, what must change.
public enum Planner {
    public static func plan(desired: DesiredState, actual: ActualState) throws -> Plan {
        var actions: [PlannedAction] = []
        var foreign: [String] = []
        let environment = desired.environment

        // The pool holding the overlays.
        if let pool = actual.pools.first(where: { $0.name == desired.poolName }) {
            if pool.uuid != desired.poolUUID {
                foreign.append("storage pool \(pool.name) (another UUID)")
            } else {
                actions.append(PlannedAction(pool.active ? .keep : .create, .pool, pool.name, reason: pool.active ? "" : "defined but not running"))
            }
        } else {
            actions.append(PlannedAction(.create, .pool, desired.poolName, reason: "new"))
        }

        // Networks: structure changes replace, reservations and names are edited live.
        let liveNetworks = Dictionary(actual.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var replacedNetworks = Set<String>()
        for network in desired.networks {
            guard let live = liveNetworks[network.name] else {
                actions.append(PlannedAction(.create, .network, network.name, reason: "new"))
                continue
            }
            guard live.uuid == network.uuid else {
                foreign.append("network \(network.name) (not made by DecoyNet for \(environment))")
                continue
            }
            guard live.active, let current = Network(xml: live.xml) else {
                replacedNetworks.insert(network.name)
                actions.append(PlannedAction(.replace, .network, network.name, reason: "defined but not running"))
                continue
            }
            if current.structure != network.document.structure {
                replacedNetworks.insert(network.name)
                actions.append(PlannedAction(.replace, .network, network.name, reason: "bridge, addresses or egress changed"))
                continue
            }
            let changes = liveChanges(from: current, to: network.document)
            actions.append(changes.isEmpty
                ? PlannedAction(.keep, .network, network.name, reason: "")
                : PlannedAction(.update, .network, network.name, reason: "\(changes.count) DHCP/DNS entries changed", changes: changes))
        }
        let desiredNetworkNames = Set(desired.networks.map(\.name))
        for live in actual.networks where !desiredNetworkNames.contains(live.name)
            && DesiredState.isOwnNetwork(LiveNetworkIdentity(name: live.name, uuid: live.uuid), environment: environment) {
            replacedNetworks.insert(live.name)
            actions.append(PlannedAction(.delete, .network, live.name, reason: "no longer in the topology"))
        }

        // Domains: the digest in their metadata says whether the definition changed.
        let liveDomains = Dictionary(actual.domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let owned = actual.ownedDomains(environment: environment)
        let networkNames = Dictionary(desired.networks.map { (String($0.name.dropFirst(environment.count + 1)), $0.name) }, uniquingKeysWith: { first, _ in first })
        func attached(_ metadata: DomainMetadata) -> [String] {
            Array(Set(metadata.interfaces.map { networkNames[$0.network] ?? Naming.object(environment: environment, name: $0.network) })).sorted()
        }
        for domain in desired.domains {
            guard let live = liveDomains[domain.name] else {
                actions.append(PlannedAction(.create, .domain, domain.name, reason: "new"))
                continue
            }
            guard let xml = live.metadata, let metadata = DomainMetadata(xml: xml),
                  metadata.environment == environment, metadata.host == domain.host else {
                foreign.append("domain \(domain.name) (no DecoyNet metadata for \(environment))")
                continue
            }
            let networks = attached(metadata)
            if let network = networks.first(where: replacedNetworks.contains) {
                actions.append(PlannedAction(.replace, .domain, domain.name, reason: "its network \(network) is replaced", attachedNetworks: networks))
            } else if metadata.digest != domain.digest {
                actions.append(PlannedAction(.replace, .domain, domain.name, reason: "definition changed", attachedNetworks: networks))
            } else if live.state == .shutoff || live.state == .crashed {
                actions.append(PlannedAction(.start, .domain, domain.name, reason: "not running (\(live.state.rawValue))"))
            } else if live.state != .running && live.state != .blocked {
                actions.append(PlannedAction(.replace, .domain, domain.name, reason: "\(live.state.rawValue)", attachedNetworks: networks))
            } else {
                actions.append(PlannedAction(.keep, .domain, domain.name, reason: ""))
            }
        }
        let desiredDomains = Set(desired.domains.map(\.name))
        for (live, metadata) in owned where !desiredDomains.contains(live.name) {
            actions.append(PlannedAction(.delete, .domain, live.name, reason: "no longer in the topology", attachedNetworks: attached(metadata)))
        }

        // Overlays left behind by an interrupted apply, whose domain was never defined (a domain
        // that is deleted takes its overlay with it; a domain still to be created replaces its own).
        let expectedVolumes = Set(desired.domains.flatMap { [$0.volume?.name, $0.seed.name].compactMap { $0 } + $0.firmware.map(\.name) })
        let liveDomainNames = Set(actual.domains.map(\.name))
        for volume in actual.volumes where !expectedVolumes.contains(volume.name) {
            if !liveDomainNames.contains(Naming.domain(ofVolume: volume.name)) {
                actions.append(PlannedAction(.delete, .volume, volume.name, reason: "left over"))
            }
        }

        if !foreign.isEmpty { throw ForeignObjectsError(objects: foreign) }
        return Plan(environment: environment, actions: actions)
    }

    /// Everything of an environment, to be removed: its domains, overlays, networks and pool.
    public static func destroyPlan(environment: String, actual: ActualState) -> Plan {
        var actions: [PlannedAction] = []
        for (live, metadata) in actual.ownedDomains(environment: environment) {
            let networks = Array(Set(metadata.interfaces.map { Naming.object(environment: environment, name: $0.network) })).sorted()
            actions.append(PlannedAction(.delete, .domain, live.name, reason: "destroy", attachedNetworks: networks))
        }
        for live in actual.networks where DesiredState.isOwnNetwork(LiveNetworkIdentity(name: live.name, uuid: live.uuid), environment: environment) {
            actions.append(PlannedAction(.delete, .network, live.name, reason: "destroy"))
        }
        let poolName = Naming.pool(environment: environment)
        if let pool = actual.pools.first(where: { $0.name == poolName }), pool.uuid == Identifiers.poolUUID(environment: environment) {
            actions.append(PlannedAction(.delete, .pool, pool.name, reason: "destroy"))
        }
        return Plan(environment: environment, actions: actions)
    }

    /// DHCP reservations and DNS names to delete and add, in libvirt's update sections.
    static func liveChanges(from current: Network, to desired: Network) -> [NetworkChange] {
        var changes: [NetworkChange] = []
        let currentDHCP = Set(current.dhcpHosts)
        let desiredDHCP = Set(desired.dhcpHosts)
        for host in current.dhcpHosts where !desiredDHCP.contains(host) {
            changes.append(NetworkChange(command: .delete, section: .dhcpHost, xml: host.xml))
        }
        let currentDNS = Set(current.dns?.hosts ?? [])
        let desiredDNS = Set(desired.dns?.hosts ?? [])
        for host in current.dns?.hosts ?? [] where !desiredDNS.contains(host) {
            changes.append(NetworkChange(command: .delete, section: .dnsHost, xml: host.xml))
        }
        for host in desired.dhcpHosts where !currentDHCP.contains(host) {
            changes.append(NetworkChange(command: .add, section: .dhcpHost, xml: host.xml))
        }
        for host in desired.dns?.hosts ?? [] where !currentDNS.contains(host) {
            changes.append(NetworkChange(command: .add, section: .dnsHost, xml: host.xml))
        }
        return changes
    }
}
