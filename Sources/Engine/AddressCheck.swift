import Compiler
import Hypervisor
import LibvirtXML
import Naming
import Topology

/// Before anything is created: the environments' networks must not overlap each other, the
/// networks of other environments on the connection, or the routes of libvirtd's namespace.
public enum AddressCheck {
    /// Reads what the check needs from the connection (its networks; for a local QEMU connection,
    /// the routes of libvirtd's namespace) and returns every conflict, each as a sentence.
    public static func conflicts(_ environments: [ResolvedEnvironment], hypervisor: any Hypervisor) async throws -> [String] {
        let live = try await hypervisor.networks()
        let routes = Naming.isLocalQEMU(hypervisor.uri) ? HostRoutes.read() : []
        return conflicts(environments, live: live, routes: routes)
    }

    public static func conflicts(_ environments: [ResolvedEnvironment], live: [LiveNetwork], routes: [HostRoutes.Route]) -> [String] {
        var problems: [String] = []
        let desired = environments.flatMap { environment in environment.networks.map { (environment: environment.name, network: $0) } }
        for (index, first) in desired.enumerated() {
            for second in desired[(index + 1)...] where first.environment != second.environment && first.network.cidr.overlaps(second.network.cidr) {
                problems.append("network \(first.network.libvirtName) (\(first.network.cidr)) overlaps network \(second.network.libvirtName) (\(second.network.cidr))")
            }
        }
        let ownNames = Set(desired.map(\.network.libvirtName))
        let ownBridges = Set(desired.map(\.network.bridge))
        for network in live where !ownNames.contains(network.name) {
            guard let document = Network(xml: network.xml) else { continue }
            for ip in document.ips {
                guard let address = IPv4Address(ip.address) else { continue }
                let other = IPv4Network(address: address, prefixLength: ip.prefix)
                for wanted in desired where wanted.network.cidr.overlaps(other) {
                    problems.append("network \(wanted.network.libvirtName) (\(wanted.network.cidr)) overlaps network \(network.name) (\(ip.address)/\(ip.prefix)), already on the connection")
                }
            }
        }
        for route in routes where !ownBridges.contains(route.interface) {
            let routed = IPv4Network(address: IPv4Address(route.destination), prefixLength: route.prefixLength)
            for wanted in desired where wanted.network.cidr.overlaps(routed) {
                problems.append("network \(wanted.network.libvirtName) (\(wanted.network.cidr)) overlaps the route to \(routed) via \(route.interface) on the host")
            }
        }
        return problems
    }
}
