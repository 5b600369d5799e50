import Diagnostics
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

    /// A person's password when the topology gives none: 14 characters derived from the
    /// environment and the user, so every compile of the file gives the same one.
    static func password(environment: String, user: String) -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let digest = SHA256.hash("decoynet/password/\(environment)/\(user)")
        let body = digest.prefix(12).map { String(alphabet[Int($0) % alphabet.count]) }.joined()
        return String(body.prefix(6)) + "-" + String(body.dropFirst(6)) + "7"
    }

    /// A serial number for a host's chassis or disk in the vendor's style, from `key`.
    static func serial(_ key: String, length: Int) -> String {
        let alphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZ")
        return SHA256.hash("decoynet/serial/\(key)").prefix(length).map { String(alphabet[Int($0) % alphabet.count]) }.joined()
    }

    /// `oui:xx:xx:xx` (QEMU's `52:54:00` unless a vendor's), avoiding every MAC in `taken`.
    static func mac(_ key: String, oui: [UInt8] = [0x52, 0x54, 0x00], avoiding taken: inout Set<MACAddress>) -> MACAddress {
        var attempt = 0
        while true {
            let digest = SHA256.hash("decoynet/mac/\(key)/\(attempt)")
            let mac = MACAddress(bytes: [oui[0], oui[1], oui[2], digest[0], digest[1], digest[2]])
            if taken.insert(mac).inserted { return mac }
            attempt += 1
        }
    }

    /// `dt-` and ten hex digits: a guest interface's tap device, named in advance so that the host's
    /// anti-spoofing rules can name it before the guest starts.
    static func tap(_ key: String, avoiding taken: inout Set<String>) -> String {
        hashedName(prefix: "dt-", kind: "tap", key: key, avoiding: &taken)
    }

    /// `dn-` and ten hex digits: 13 characters, inside Linux's 15, unique per environment and network.
    static func bridge(_ key: String, avoiding taken: inout Set<String>) -> String {
        hashedName(prefix: "dn-", kind: "bridge", key: key, avoiding: &taken)
    }

    /// A Linux device name: the prefix and ten hex digits of a digest of the key, the next
    /// attempt's when taken.
    private static func hashedName(prefix: String, kind: String, key: String, avoiding taken: inout Set<String>) -> String {
        var attempt = 0
        while true {
            let digest = SHA256.hash("decoynet/\(kind)/\(key)/\(attempt)")
            let name = prefix + String(digest.prefix(5).hexString)
            if taken.insert(name).inserted { return name }
            attempt += 1
        }
    }
}

/// Names of an Active Directory domain, derived from the topology's `domain`.
public enum DomainNames {
    /// A host with both `ldap` and `kerberos` is the domain's controller.
    public static func isDomainController(services: [ServiceSpec]) -> Bool {
        let names = Set(services.map(\.name))
        return names.contains("ldap") && names.contains("kerberos")
    }

    /// `CORP.ACME.EXAMPLE` for `corp.acme.example`.
    public static func realm(_ domain: String) -> String { domain.uppercased() }

    /// The first label in capitals: `CORP` for `corp.acme.example` (NetBIOS allows 15 characters).
    public static func netbios(_ domain: String) -> String {
        String(domain.split(separator: ".").first ?? "").uppercased()
    }

    static func problem(domain: String?, controller: String) -> Message? {
        guard let domain else { return CompilerMessages.controllerWithoutDomain(host: controller) }
        let name = netbios(domain)
        if name.count > 15 { return CompilerMessages.netbiosNameTooLong(name) }
        if name == controller.uppercased() { return CompilerMessages.netbiosNameIsHost(name, host: controller) }
        return nil
    }
}

/// The root login on a stealthy host's serial console, which DecoyNet's detector self-test uses
/// instead of the guest agent it does not have: derived from the environment, the host and a secret
/// of the hypervisor machine (`key`), so the seed that sets it and the engine that types it agree
/// without storing it, and nobody who knows only the names can work it out.
public enum ConsoleLogin {
    public static let user = "root"

    public static func password(environment: String, host: String, key: [UInt8]) -> String {
        Identifiers.password(environment: environment, user: "console/\(host)/" + key.hexString)
    }
}
