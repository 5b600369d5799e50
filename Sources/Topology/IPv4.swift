/// An IPv4 address as a 32-bit number, so that ranges and allocation are arithmetic.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad only, four decimal parts 0-255 without leading zeros (which some tools read as octal).
    public init?(_ text: some StringProtocol) {
        var parts: [UInt32] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(part.count > 1 && part.first == "0"),
                  let number = UInt32(part), number <= 255 else { return nil }
            parts.append(number)
        }
        guard parts.count == 4 else { return nil }
        value = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv4 prefix such as `10.10.0.0/22`.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public enum ParseError: Error, Equatable {
        case syntax
        /// Host bits are set: carries the network the user probably meant.
        case notNetworkAddress(IPv4Network)
    }

    public static func parse(_ text: String) -> Result<IPv4Network, ParseError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]),
              parts[1].count <= 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let prefix = Int(parts[1]), prefix <= 32 else { return .failure(.syntax) }
        let network = IPv4Network(address: address, prefixLength: prefix)
        if network.networkAddress != address {
            return .failure(.notNetworkAddress(IPv4Network(address: network.networkAddress, prefixLength: prefix)))
        }
        return .success(network)
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }
    public var netmask: IPv4Address { IPv4Address(mask) }
    public var networkAddress: IPv4Address { IPv4Address(address.value & mask) }
    public var broadcastAddress: IPv4Address { IPv4Address(address.value & mask | ~mask) }
    /// The lowest address a host may hold.
    public var firstUsable: IPv4Address { IPv4Address(networkAddress.value + 1) }
    public var lastUsable: IPv4Address { IPv4Address(broadcastAddress.value - 1) }
    /// Addresses a host may hold: all but the network and broadcast addresses.
    public var usableCount: Int { Int(broadcastAddress.value - networkAddress.value) - 1 }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == networkAddress.value }

    public func overlaps(_ other: IPv4Network) -> Bool {
        let shorter = min(prefixLength, other.prefixLength)
        let mask = shorter == 0 ? 0 : UInt32.max << UInt32(32 - shorter)
        return address.value & mask == other.address.value & mask
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
