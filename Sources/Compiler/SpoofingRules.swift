import Naming

/// The rules that hold each guest interface to its own MAC and address, for the host's nftables
/// (bridge family, on the frames a guest's tap sends into its bridge). They do what libvirt's
/// `clean-traffic` nwfilter does, but load in one `nft -f` per environment: clean-traffic ran dozens
/// of ebtables and iptables processes per interface under one lock, which made starting 8 guests
/// take 17 s instead of 3.
///
/// Each interface may send only from its MAC, and ARP only for its MAC and address; a held
/// interface (all but gateways, which forward others' packets) sends IPv4 only from its address (the
/// internet host also from any address outside the environment's networks, as which it answers)
/// (DHCP's 0.0.0.0 aside) and nothing but IPv4 and ARP. Networks with `spoofing: allow` are left out.
public enum SpoofingRules {
    /// The environment's table as an `nft -f` file, replacing any earlier one; nil when no interface
    /// is held (then the table, if any, is to be removed).
    public static func ruleset(_ environment: ResolvedEnvironment) -> String? {
        let allowed = Set(environment.networks.filter { $0.spoofing == .allow }.map(\.name))
        var ports: [String] = []
        var guarded: [String] = []
        var macs: [String] = []
        var addresses: [String] = []
        var answering: [String] = []
        for host in environment.hosts {
            let gateway = environment.isGateway(host.name)
            for interface in host.interfaces where !allowed.contains(interface.network) {
                let port = "\"\(interface.tap)\""
                ports.append(port)
                macs.append("\(port) . \(interface.mac)")
                if !gateway {
                    guarded.append(port)
                    addresses.append("\(port) . \(interface.address)")
                }
                if host.name == environment.internetHost { answering.append(port) }
            }
        }
        guard !ports.isEmpty else { return nil }
        let table = Naming.spoofingTable(environment: environment.name)
        func set(_ name: String, _ type: String, _ elements: [String]) -> String {
            elements.isEmpty ? "    set \(name) { type \(type); }\n"
                : "    set \(name) {\n        type \(type)\n        elements = {\n            " + elements.joined(separator: ",\n            ") + "\n        }\n    }\n"
        }
        // The internet host answers as every address outside the environment: from those too, never
        // as one of the environment's.
        let outside = answering.isEmpty ? "" : "        ether type ip iifname @answering ip saddr != { "
            + environment.networks.map(\.cidr.description).joined(separator: ", ") + " } accept\n"
        return "table bridge \(table)\ndelete table bridge \(table)\ntable bridge \(table) {\n"
            + set("ports", "ifname", ports) + set("guarded", "ifname", guarded)
            + set("macs", "ifname . ether_addr", macs) + set("addresses", "ifname . ipv4_addr", addresses)
            + (answering.isEmpty ? "" : set("answering", "ifname", answering))
            + """
                chain prerouting {
                    type filter hook prerouting priority filter; policy accept;
                    iifname != @ports accept
                    iifname . ether saddr != @macs drop
                    ether type arp iifname . arp saddr ether != @macs drop
                    iifname != @guarded accept
                    ether type arp iifname . arp saddr ip != @addresses drop
                    ether type ip ip saddr 0.0.0.0 udp dport 67 accept
            \(outside)        ether type ip iifname . ip saddr != @addresses drop
                    ether type != { ip, arp } drop
                }
            }

            """
    }
}
