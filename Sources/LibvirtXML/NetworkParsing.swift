extension Network {
    /// Reads the fields DecoyNet writes back from a network document libvirt returned; libvirt's own
    /// additions (the bridge's MAC, connection counts) are ignored.
    public init?(xml: String) {
        guard let root = XMLElement.parse(xml), root.name == "network",
              let name = root.child("name")?.text, let bridge = root.child("bridge")?[attribute: "name"] else { return nil }
        self.name = name
        uuid = root.child("uuid")?.text ?? ""
        forward = root.child("forward")?[attribute: "mode"].map { NetworkForward(mode: $0) }
        self.bridge = NetworkBridge(name: bridge, stp: root.child("bridge")?[attribute: "stp"] != "off")
        mtu = root.child("mtu")?[attribute: "size"].flatMap(Int.init)
        domain = root.child("domain").flatMap { element in
            element[attribute: "name"].map { NetworkDomain(name: $0, localOnly: element[attribute: "localOnly"] == "yes") }
        }
        let dnsHosts = root.child("dns")?.children("host").compactMap { host -> NetworkDNSHost? in
            guard let ip = host[attribute: "ip"] else { return nil }
            return NetworkDNSHost(ip: ip, hostnames: host.children("hostname").compactMap(\.text))
        } ?? []
        let forwarders = root.child("dns")?.children("forwarder").compactMap { forwarder -> NetworkDNSForwarder? in
            guard let address = forwarder[attribute: "addr"] else { return nil }
            return NetworkDNSForwarder(domain: forwarder[attribute: "domain"], address: address)
        } ?? []
        dns = dnsHosts.isEmpty && forwarders.isEmpty ? nil : NetworkDNS(hosts: dnsHosts, forwarders: forwarders)
        ips = root.children("ip").compactMap { ip -> NetworkIP? in
            guard let address = ip[attribute: "address"] else { return nil }
            let prefix = ip[attribute: "prefix"].flatMap(Int.init) ?? ip[attribute: "netmask"].map(Self.prefixLength) ?? 0
            let dhcp = ip.child("dhcp").map { dhcp in
                NetworkDHCP(
                    ranges: dhcp.children("range").compactMap { range in
                        guard let start = range[attribute: "start"], let end = range[attribute: "end"] else { return nil }
                        return NetworkDHCPRange(start: start, end: end)
                    },
                    hosts: dhcp.children("host").compactMap { host in
                        guard let ip = host[attribute: "ip"] else { return nil }
                        return NetworkDHCPHost(mac: host[attribute: "mac"] ?? "", name: host[attribute: "name"], ip: ip)
                    }
                )
            }
            return NetworkIP(address: address, prefix: prefix, dhcp: dhcp)
        }
        dnsmasqOptions = root.children.first { $0.name == "options" && $0.namespace?.uri == Self.dnsmasqNamespace.uri }?
            .children("option").compactMap { $0[attribute: "value"] } ?? []
    }

    /// The network without its DHCP reservations and DNS names: what cannot change while it runs
    /// (its DNS forwarders can only change with a restart).
    public var structure: Network {
        var copy = self
        copy.uuid = ""
        copy.dns = dns.flatMap { $0.forwarders.isEmpty ? nil : NetworkDNS(hosts: [], forwarders: $0.forwarders) }
        copy.ips = ips.map { ip in
            var ip = ip
            ip.dhcp = ip.dhcp.map { NetworkDHCP(ranges: $0.ranges, hosts: []) }
            return ip
        }
        return copy
    }

    public var dhcpHosts: [NetworkDHCPHost] { ips.flatMap { $0.dhcp?.hosts ?? [] } }

    private static func prefixLength(_ netmask: String) -> Int {
        netmask.split(separator: ".").compactMap { UInt8($0) }.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}

extension NetworkDHCPHost {
    /// The element as `virNetworkUpdate` takes it for the DHCP host section.
    public var xml: String {
        XMLSerializer.serialize(XMLElement("host", attributes: attributes(("mac", mac), ("name", name), ("ip", ip))))
    }
}

extension NetworkDNSHost {
    /// The element as `virNetworkUpdate` takes it for the DNS host section.
    public var xml: String {
        XMLSerializer.serialize(XMLElement("host", attributes: [("ip", ip)], children: hostnames.map { XMLElement("hostname", text: $0) }))
    }
}
