import Digest
import Topology

/// Deterministic identifiers: the same file always compiles to the same names, MACs and UUIDs.
///
/// Each is a SHA-256 of a path naming the object (`environment/host/interface`), so adding a host
/// never renumbers the others.
public enum Identifiers {
    /// The UUID of a network DecoyNet defines: how it tells its own networks from others of the
    /// same name (libvirt 9.0 keeps no metadata on networks).
    public static func networkUUID(environment: String, network: String) -> String {
        uuid("\(environment)/network/\(network)")
    }

    /// The storage pool holding an environment's overlays.
    public static func poolName(environment: String) -> String {
        "decoynet-\(environment)"
    }

    public static func poolUUID(environment: String) -> String {
        uuid("\(environment)/pool")
    }

    /// A UUID in the standard layout, version nibble 8 (vendor-specific, RFC 9562).
    static func uuid(_ key: String) -> String {
        var bytes = Array(SHA256.hash("decoynet/uuid/" + key).prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.hexString
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    /// `52:54:00:xx:xx:xx` (QEMU's prefix), avoiding every MAC in `taken`.
    static func mac(_ key: String, avoiding taken: inout Set<MACAddress>) -> MACAddress {
        var attempt = 0
        while true {
            let digest = SHA256.hash("decoynet/mac/\(key)/\(attempt)")
            let mac = MACAddress(bytes: [0x52, 0x54, 0x00, digest[0], digest[1], digest[2]])
            if taken.insert(mac).inserted { return mac }
            attempt += 1
        }
    }

    /// `dn-` and ten hex digits: 13 characters, inside Linux's 15, unique per environment and network.
    static func bridge(_ key: String, avoiding taken: inout Set<String>) -> String {
        var attempt = 0
        while true {
            let digest = SHA256.hash("decoynet/bridge/\(key)/\(attempt)")
            let name = "dn-" + String(digest.prefix(5).hexString)
            if taken.insert(name).inserted { return name }
            attempt += 1
        }
    }
}
