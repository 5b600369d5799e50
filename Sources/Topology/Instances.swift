import Diagnostics

/// Copies of one topology that run side by side, each renamed and renumbered into its own
/// address space.
///
/// The rule: the topology's networks use some /16 blocks; the copy with index k moves every
/// address (networks, fixed addresses, bridge addresses) up by k times the span of those blocks,
/// so copy 1 of a topology on 10.77.x.x uses 10.78.x.x, copy 2 10.79.x.x, and a topology on
/// 10.10.x.x and 10.20.x.x moves by 11 blocks per copy. Copies never overlap each other; every
/// address must stay inside the private range (or /8) it started in.
public enum InstanceSelector: Sendable, Equatable {
    /// `ENV-i3`, addresses moved by 3 spans.
    case number(Int)
    /// `ENV-NAME`, addresses moved by a span count derived from the name.
    case name(String)

    public var suffix: String {
        switch self {
        case let .number(index): return "i\(index)"
        case let .name(name): return name
        }
    }

    /// The number of spans the copy moves by; a name is spread over the `capacity` copies that fit.
    public func index(capacity: Int) -> Int {
        switch self {
        case let .number(index): return index
        case let .name(name):
            // FNV-1a: a stable spread of names (the overlap check catches two names that meet).
            var hash: UInt32 = 2_166_136_261
            for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return Int(hash % UInt32(max(1, capacity))) + 1
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 10 && name.allSatisfy { ("a" ... "z").contains($0) || ("0" ... "9").contains($0) }
    }
}

extension Topology {
    /// The span of the /16 blocks the networks use, in addresses (a multiple of 65,536).
    var instanceSpan: UInt32 {
        let blocks = networks.compactMap { $0.cidr.map { $0.value.networkAddress.value >> 16 } }
        guard let low = blocks.min(), let high = blocks.max() else { return 1 << 16 }
        return (high - low + 1) << 16
    }

    /// How many copies fit above the topology's own addresses, inside their ranges.
    var instanceCapacity: Int {
        let fits = networks.compactMap { network -> UInt32? in
            guard let cidr = network.cidr?.value else { return nil }
            return (Self.range(of: cidr).broadcastAddress.value - cidr.broadcastAddress.value) / instanceSpan
        }
        return Int(fits.min() ?? 0)
    }

    /// This topology as copy `instance`: renamed `NAME-SUFFIX`, every address moved. Returns the
    /// diagnostics of addresses that would leave their range.
    public func instance(_ instance: InstanceSelector) -> (topology: Topology, diagnostics: [Diagnostic]) {
        var copy = self
        var diagnostics: [Diagnostic] = []
        let offset = UInt64(instanceSpan) * UInt64(instance.index(capacity: instanceCapacity))
        func move(_ address: IPv4Address, bounds: IPv4Network, at location: SourceLocation) -> IPv4Address? {
            let moved = UInt64(address.value) + offset
            guard moved <= UInt64(UInt32.max), bounds.contains(IPv4Address(UInt32(moved))) else {
                diagnostics.append(Diagnostic(TopologyMessages.instanceOutOfRange(instance.suffix, address: address, bounds: bounds), at: location))
                return nil
            }
            return IPv4Address(UInt32(moved))
        }
        let bounds = Dictionary(networks.compactMap { network in network.cidr.map { (network.name.value, Self.range(of: $0.value)) } },
                                uniquingKeysWith: { first, _ in first })
        if let name = copy.name { copy.name = Located(name.value + "-" + instance.suffix, at: name.location) }
        for index in copy.networks.indices {
            let network = copy.networks[index]
            guard let cidr = network.cidr, let range = bounds[network.name.value] else { continue }
            if let moved = move(cidr.value.address, bounds: range, at: cidr.location) {
                copy.networks[index].cidr = Located(IPv4Network(address: moved, prefixLength: cidr.value.prefixLength), at: cidr.location)
            }
            if let bridge = network.bridgeAddress, let moved = move(bridge.value, bounds: range, at: bridge.location) {
                copy.networks[index].bridgeAddress = Located(moved, at: bridge.location)
            }
        }
        func moveInterfaces(_ fields: inout HostFields) {
            guard var interfaces = fields.interfaces else { return }
            for index in interfaces.value.indices {
                guard let address = interfaces.value[index].address, let network = interfaces.value[index].network?.value,
                      let range = bounds[network] else { continue }
                interfaces.value[index].address = move(address.value, bounds: range, at: address.location).map { Located($0, at: address.location) } ?? address
            }
            fields.interfaces = interfaces
        }
        for index in copy.hosts.indices { moveInterfaces(&copy.hosts[index].fields) }
        return (copy, diagnostics)
    }

    /// The private range (or, for other addresses, the /8) a network lies in.
    static func range(of network: IPv4Network) -> IPv4Network {
        for range in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] {
            if case let .success(candidate) = IPv4Network.parse(range), candidate.contains(network.address) { return candidate }
        }
        return IPv4Network(address: IPv4Address(network.address.value & 0xFF00_0000), prefixLength: 8)
    }
}
