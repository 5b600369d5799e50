/// libvirt's network document (`network.rng`): what the fields mean is libvirt's, names follow it.
public struct Network: LibvirtDocument, Equatable {
    public var name: String
    public var uuid: String
    public var forward: NetworkForward?
    public var bridge: NetworkBridge
    public var mtu: Int?
    public var domain: NetworkDomain?
    public var dns: NetworkDNS?
    public var ips: [NetworkIP]
    /// Raw dnsmasq options (libvirt's `dnsmasq:options` namespace), e.g. the DHCP router option.
    public var dnsmasqOptions: [String]

    public init(name: String, uuid: String, forward: NetworkForward? = nil, bridge: NetworkBridge, mtu: Int? = nil,
                domain: NetworkDomain? = nil, dns: NetworkDNS? = nil, ips: [NetworkIP] = [], dnsmasqOptions: [String] = []) {
        self.name = name
        self.uuid = uuid
        self.forward = forward
        self.bridge = bridge
        self.mtu = mtu
        self.domain = domain
        self.dns = dns
        self.ips = ips
        self.dnsmasqOptions = dnsmasqOptions
    }

    public static let dnsmasqNamespace = XMLElement.Namespace(prefix: "dnsmasq", uri: "http://libvirt.org/schemas/network/dnsmasq/1.0")

    public var xmlElement: XMLElement {
        var children = [XMLElement("name", text: name), XMLElement("uuid", text: uuid)]
        if let forward { children.append(XMLElement("forward", attributes: [("mode", forward.mode)])) }
        children.append(XMLElement("bridge", attributes: [("name", bridge.name), ("stp", bridge.stp ? "on" : "off"), ("delay", "0")]))
        if let mtu { children.append(XMLElement("mtu", attributes: [("size", String(mtu))])) }
        if let domain { children.append(XMLElement("domain", attributes: [("name", domain.name), ("localOnly", domain.localOnly ? "yes" : "no")])) }
        if let dns, !dns.hosts.isEmpty || !dns.forwarders.isEmpty {
            children.append(XMLElement("dns", children: dns.forwarders.map { forwarder in
                XMLElement("forwarder", attributes: (forwarder.domain.map { [("domain", $0)] } ?? []) + [("addr", forwarder.address)])
            } + dns.hosts.map { host in
                XMLElement("host", attributes: [("ip", host.ip)], children: host.hostnames.map { XMLElement("hostname", text: $0) })
            }))
        }
        for ip in ips {
            var ipChildren: [XMLElement] = []
            if let dhcp = ip.dhcp {
                var dhcpChildren = dhcp.ranges.map { XMLElement("range", attributes: [("start", $0.start), ("end", $0.end)]) }
                dhcpChildren += dhcp.hosts.map { host in
                    XMLElement("host", attributes: attributes(("mac", host.mac), ("name", host.name), ("ip", host.ip)))
                }
                ipChildren.append(XMLElement("dhcp", children: dhcpChildren))
            }
            children.append(XMLElement("ip", attributes: [("address", ip.address), ("prefix", String(ip.prefix))], children: ipChildren))
        }
        if !dnsmasqOptions.isEmpty {
            children.append(XMLElement("options", namespace: Self.dnsmasqNamespace, children: dnsmasqOptions.map {
                XMLElement("option", namespace: Self.dnsmasqNamespace, attributes: [("value", $0)])
            }))
        }
        return XMLElement("network", children: children)
    }
}

public struct NetworkForward: Sendable, Equatable {
    /// `nat` or `route`; no forward element at all makes an isolated network.
    public var mode: String

    public init(mode: String) { self.mode = mode }
}

public struct NetworkBridge: Sendable, Equatable {
    public var name: String
    public var stp: Bool

    public init(name: String, stp: Bool = true) {
        self.name = name
        self.stp = stp
    }
}

public struct NetworkDomain: Sendable, Equatable {
    public var name: String
    public var localOnly: Bool

    public init(name: String, localOnly: Bool = true) {
        self.name = name
        self.localOnly = localOnly
    }
}

public struct NetworkDNS: Sendable, Equatable, Hashable {
    public var hosts: [NetworkDNSHost]
    public var forwarders: [NetworkDNSForwarder]

    public init(hosts: [NetworkDNSHost], forwarders: [NetworkDNSForwarder] = []) {
        self.hosts = hosts
        self.forwarders = forwarders
    }
}

/// `<forwarder domain=... addr=.../>`: names under `domain` that the network does not list itself
/// are asked of the server at `address`.
public struct NetworkDNSForwarder: Sendable, Equatable, Hashable {
    /// nil: every name no other forwarder or host of the network answers.
    public var domain: String?
    public var address: String

    public init(domain: String?, address: String) {
        self.domain = domain
        self.address = address
    }
}

public struct NetworkDNSHost: Sendable, Equatable, Hashable {
    public var ip: String
    public var hostnames: [String]

    public init(ip: String, hostnames: [String]) {
        self.ip = ip
        self.hostnames = hostnames
    }
}

public struct NetworkIP: Sendable, Equatable {
    public var address: String
    public var prefix: Int
    public var dhcp: NetworkDHCP?

    public init(address: String, prefix: Int, dhcp: NetworkDHCP? = nil) {
        self.address = address
        self.prefix = prefix
        self.dhcp = dhcp
    }
}

public struct NetworkDHCP: Sendable, Equatable {
    public var ranges: [NetworkDHCPRange]
    public var hosts: [NetworkDHCPHost]

    public init(ranges: [NetworkDHCPRange] = [], hosts: [NetworkDHCPHost]) {
        self.ranges = ranges
        self.hosts = hosts
    }
}

public struct NetworkDHCPRange: Sendable, Equatable {
    public var start: String
    public var end: String

    public init(start: String, end: String) {
        self.start = start
        self.end = end
    }
}

public struct NetworkDHCPHost: Sendable, Equatable, Hashable {
    public var mac: String
    public var name: String?
    public var ip: String

    public init(mac: String, name: String?, ip: String) {
        self.mac = mac
        self.name = name
        self.ip = ip
    }
}
