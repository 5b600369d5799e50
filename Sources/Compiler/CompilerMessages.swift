import Diagnostics
import Topology

/// Every diagnostic of lowering, in one place; `docs/topology.md` explains each id.
public enum CompilerMessages {
    static func addressesExhausted(network: String, cidr: IPv4Network, host: String) -> Message {
        Message(id: "addresses-exhausted", "network \(network) (\(cidr)) has no free address left for host \(host)")
    }

    static func controllerWithoutDomain(host: String) -> Message {
        Message(id: "domain-controller-without-domain", "host \(host) is a domain controller (ldap and kerberos) but the topology has no 'domain'; add one, e.g. domain: corp.example.com")
    }

    static func netbiosNameTooLong(_ name: String) -> Message {
        Message(id: "netbios-name-too-long", "the domain's NetBIOS name would be \(name) (its first label), longer than 15 characters; choose a domain whose first label has at most 15")
    }

    static func netbiosNameIsHost(_ name: String, host: String) -> Message {
        Message(id: "netbios-name-is-host", "the domain's NetBIOS name \(name) is also the domain controller's name (\(host)); rename the host or the domain's first label")
    }

    static func internetHostTwice(_ host: String, first: String) -> Message {
        Message(id: "internet-host-twice", "host \(host) is a second internet host (\(first) is the first); an environment has one internet, remove one of them")
    }

    static func stealthyInternet(_ host: String) -> Message {
        Message(id: "stealthy-internet-host", "internet host \(host) cannot be stealthy: DecoyNet sends mail and reads INetSim's log through its guest agent; set 'stealth: false' on it")
    }

    static func internetWithoutGateway(_ host: String, network: String) -> Message {
        Message(id: "internet-without-gateway", "internet host \(host) is on network \(network), which has no gateway to route the environment to it; add 'gateway: ROUTER' to network \(network)")
    }

    static func diskSmallerThanBase(_ size: UInt64, base: UInt64) -> Message {
        Message(id: "disk-smaller-than-base", "disk size \(ByteCount(size)) is smaller than its base image (\(ByteCount(base)))")
    }
}

/// Sizes printed in the binary units the language uses.
struct ByteCount: CustomStringConvertible {
    var bytes: UInt64

    init(_ bytes: UInt64) { self.bytes = bytes }

    var description: String {
        let mib: UInt64 = 1 << 20
        if bytes % (mib << 10) == 0 { return "\(bytes / (mib << 10))GiB" }
        if bytes % mib == 0 { return "\(bytes / mib)MiB" }
        return "\(bytes) bytes"
    }
}
