import Naming

/// The rules that keep an environment's networks apart from every other environment's, for the
/// host's nftables (inet family, on the forward hook: what the host routes between its bridges).
///
/// libvirt's own rules let a `routed` or `nat` network reach any address the host routes to,
/// another environment's routed network included, and they are gone with the host's ruleset
/// (`nft flush ruleset`). This table does not depend on them: nothing is routed by the host between
/// one of the environment's bridges and any other DecoyNet bridge (`dn-*`), in either direction
/// (another environment's, or another network of its own: between its networks, its gateways
/// route, under its policy), and an `isolated` network sends nothing through the host and receives
/// nothing from it, whatever libvirt has loaded. Traffic within one bridge (when the host's
/// bridges pass frames to the IP hooks) is left alone. Each direction is dropped by the table of
/// the environment on either end, so one environment's table alone keeps it apart.
public enum ForwardRules {
    /// The environment's table as an `nft -f` file, replacing any earlier one; nil for an
    /// environment without networks (then the table, if any, is to be removed).
    public static func ruleset(_ environment: ResolvedEnvironment) -> String? {
        guard !environment.networks.isEmpty else { return nil }
        let table = Naming.forwardTable(environment: environment.name)
        let bridges = environment.networks.map { "\"\($0.bridge)\"" }
        let isolated = environment.networks.filter { $0.egress == .isolated }.map { "\"\($0.bridge)\"" }
        func set(_ name: String, _ type: String, _ elements: [String]) -> String {
            elements.isEmpty ? "    set \(name) { type \(type); }\n"
                : "    set \(name) {\n        type \(type)\n        elements = {\n            " + elements.joined(separator: ",\n            ") + "\n        }\n    }\n"
        }
        return "table inet \(table)\ndelete table inet \(table)\ntable inet \(table) {\n"
            + set("bridges", "ifname", bridges) + set("isolated", "ifname", isolated)
            + set("same", "ifname . ifname", bridges.map { "\($0) . \($0)" })
            + """
                chain forward {
                    type filter hook forward priority filter; policy accept;
                    iifname . oifname @same accept
                    iifname @isolated drop
                    oifname @isolated drop
                    iifname @bridges oifname "dn-*" drop
                    oifname @bridges iifname "dn-*" drop
                }
            }

            """
    }
}
