import Topology

/// The gateway's firewall, from the topology's `policy`: between the environment's networks only
/// what a rule allows passes; what is dropped is logged (kernel log, prefix `decoynet-drop`), and
/// `reset --evidence` keeps that log.
public enum Firewall {
    /// What begins each kernel line of a drop.
    public static let dropPrefix = "decoynet-drop"

    /// What `reset --evidence` runs inside the gateway for its drop log.
    public static let dropLogCommand = "journalctl -k -o short-iso --no-pager --grep \(dropPrefix) || true"

    /// A host enforces the policy when it is the gateway of one of the networks and there is one.
    public static func enforces(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> Bool {
        !environment.policy.isEmpty && environment.isGateway(host.name)
    }

    /// An nftables ruleset for `nft -f`: forwarding denied by default, each rule's traffic allowed,
    /// replies allowed, the rest logged (rate-limited) and dropped. The gateway's own traffic is not
    /// filtered: it is the environment's router, not a host to protect.
    public static func ruleset(_ environment: ResolvedEnvironment) -> String {
        let networks = Dictionary(environment.networks.map { ($0.name, $0.cidr.description) }, uniquingKeysWith: { first, _ in first })
        let hosts = Dictionary(environment.hosts.map { ($0.name, $0.interfaces.map(\.address.description)) }, uniquingKeysWith: { first, _ in first })
        var lines = [
            "#!/usr/sbin/nft -f",
            "# DecoyNet: the policy of environment \(environment.name) between its networks, from its topology.",
            "flush ruleset",
            "",
            "table inet decoynet {",
            "    chain forward {",
            "        type filter hook forward priority filter; policy drop;",
            "        ct state established,related accept",
            "        ct state invalid drop",
            "        icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
        ]
        // The internet's network stands for every address outside the environment too.
        let internetNetwork = environment.internet?.interface.network
        let everyNetwork = "{ " + environment.networks.map(\.cidr.description).joined(separator: ", ") + " }"
        for rule in environment.policy {
            var source = ""
            if let from = rule.from, let cidr = networks[from] { source += "ip saddr \(cidr) " }
            var matches = [source]
            if let to = rule.to {
                if let cidr = networks[to] {
                    matches = [source + "ip daddr \(cidr) "]
                    if to == internetNetwork { matches.append(source + "ip daddr != \(everyNetwork) ") }
                } else if let addresses = hosts[to], !addresses.isEmpty {
                    matches = [source + "ip daddr " + (addresses.count == 1 ? addresses[0] : "{ " + addresses.joined(separator: ", ") + " }") + " "]
                }
            }
            lines.append("        # \(rule.label)")
            for match in matches {
                if rule.allPorts {
                    lines.append("        \(match)accept")
                    continue
                }
                if !rule.tcp.isEmpty { lines.append("        \(match)tcp dport \(set(rule.tcp)) accept") }
                if !rule.udp.isEmpty { lines.append("        \(match)udp dport \(set(rule.udp)) accept") }
            }
        }
        lines += [
            "        limit rate 20/second burst 50 packets log prefix \"\(dropPrefix): \" level info",
            "    }",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    private static func set(_ ports: [Int]) -> String {
        ports.count == 1 ? String(ports[0]) : "{ " + ports.map(String.init).joined(separator: ", ") + " }"
    }
}
