import Topology

/// What each protocol probe sends and how it judges the answer: pure functions over bytes, so
/// every check is tested without a network.
public enum ProtocolProbes {
    /// The request a service probe sends first (empty: the server speaks first).
    public static func request(_ probe: ServiceProbe) -> [UInt8] {
        switch probe {
        case .ssh, .smtp, .imap, .mysql: []
        case .ldap: ldapAnonymousBind
        case .smb: framed(smb2Negotiate)
        case .kerberos: framed(kerberosASRequest(realm: "DECOYNET.PROBE"))
        }
    }

    /// Whether `bytes` already hold the whole first answer.
    public static func isComplete(_ probe: ServiceProbe, _ bytes: [UInt8]) -> Bool {
        switch probe {
        case .ssh, .smtp, .imap: bytes.contains(UInt8(ascii: "\n"))
        case .mysql: bytes.count >= 5 && bytes.count >= 4 + (Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16)
        case .ldap: bytes.count >= 2 && bytes.count >= 2 + Int(bytes[1] & 0x7F)
        case .smb, .kerberos: bytes.count >= 4 && bytes.count >= 4 + (Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]))
        }
    }

    /// nil when the answer is the protocol's; otherwise what is wrong with it.
    public static func problem(_ probe: ServiceProbe, answer bytes: [UInt8]) -> String? {
        let line = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        switch probe {
        case .ssh: return line.hasPrefix("SSH-") ? nil : "no SSH banner (got '\(line.prefix(40))')"
        case .smtp: return line.hasPrefix("220") ? nil : "no SMTP 220 greeting (got '\(line.prefix(40))')"
        case .imap: return line.hasPrefix("* OK") ? nil : "no IMAP greeting (got '\(line.prefix(40))')"
        case .mysql:
            guard bytes.count >= 5 else { return "short MySQL answer" }
            if bytes[4] == 10 { return nil }
            if bytes[4] == 0xFF { return "MySQL refused: " + String(decoding: bytes.dropFirst(7).prefix(80), as: UTF8.self) }
            return "not a MySQL handshake"
        case .ldap:
            // LDAPMessage SEQUENCE { messageID 1, [APPLICATION 1] BindResponse { ENUMERATED resultCode ... } }
            guard bytes.count >= 10, bytes[0] == 0x30, let bind = bytes.firstIndex(of: 0x61), bind + 4 < bytes.count,
                  let code = bytes[bind...].firstIndex(of: 0x0A), code + 2 < bytes.count else { return "not an LDAP bind response" }
            return bytes[code + 2] == 0 ? nil : "LDAP bind failed with result code \(bytes[code + 2])"
        case .smb:
            guard bytes.count >= 16, Array(bytes[4 ..< 8]) == [0xFE, 0x53, 0x4D, 0x42] else { return "not an SMB2 answer" }
            let status = UInt32(bytes[12]) | UInt32(bytes[13]) << 8 | UInt32(bytes[14]) << 16 | UInt32(bytes[15]) << 24
            return status == 0 ? nil : "SMB2 negotiate failed with status 0x\(String(status, radix: 16))"
        case .kerberos:
            // AS-REP is [APPLICATION 11], KRB-ERROR [APPLICATION 30]: either is a KDC answering.
            guard bytes.count > 4, bytes[4] == 0x6B || bytes[4] == 0x7E else { return "not a Kerberos answer" }
            return nil
        }
    }

    // MARK: HTTP

    /// `GET PATH` as HTTP/1.0, so the server closes the connection after its answer.
    public static func httpRequest(path: String, host: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
    }

    /// nil for a status below 400 whose body contains `expect` (when given); otherwise what is wrong.
    public static func httpProblem(answer bytes: [UInt8], expect: String?) -> String? {
        let line = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return "not an HTTP answer" }
        if status >= 400 { return "HTTP \(status)" }
        guard let expect else { return nil }
        return String(decoding: bytes, as: UTF8.self).contains(expect) ? nil : "body lacks '\(expect)'"
    }

    // MARK: Requests

    /// BindRequest, version 3, empty name, simple empty password: an anonymous bind.
    static let ldapAnonymousBind: [UInt8] = [0x30, 0x0C, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00]

    /// SMB2 NEGOTIATE offering dialects 2.0.2 and 2.1.
    static var smb2Negotiate: [UInt8] {
        var header: [UInt8] = [0xFE, 0x53, 0x4D, 0x42, 0x40, 0x00] + [UInt8](repeating: 0, count: 58)
        header[14] = 1 // one credit requested (bytes 14-15, after status and command)
        let body: [UInt8] = [0x24, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 0, count: 4 + 16 + 8) + [0x02, 0x02, 0x10, 0x02]
        return header + body
    }

    /// NetBIOS session framing (SMB) or the Kerberos TCP length prefix: a 4-byte big-endian length.
    static func framed(_ payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + payload
    }

    /// A minimal AS-REQ for `krbtgt/REALM` from `probe@REALM`: any KDC answers it, with an error.
    static func kerberosASRequest(realm: String) -> [UInt8] {
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            let length = content.count
            let encoded: [UInt8] = length < 128 ? [UInt8(length)] : length < 256 ? [0x81, UInt8(length)] : [0x82, UInt8(length >> 8), UInt8(length & 0xFF)]
            return [tag] + encoded + content
        }
        func integer(_ value: UInt8) -> [UInt8] { tlv(0x02, [value]) }
        func string(_ text: String) -> [UInt8] { tlv(0x1B, Array(text.utf8)) }
        func principal(type: UInt8, _ names: [String]) -> [UInt8] {
            tlv(0x30, tlv(0xA0, integer(type)) + tlv(0xA1, tlv(0x30, names.flatMap(string))))
        }
        let body = tlv(0x30,
                       tlv(0xA0, tlv(0x03, [0x00, 0x40, 0x81, 0x00, 0x10]))
                           + tlv(0xA1, principal(type: 1, ["probe"]))
                           + tlv(0xA2, string(realm))
                           + tlv(0xA3, principal(type: 2, ["krbtgt", realm]))
                           + tlv(0xA5, tlv(0x18, Array("20370913024805Z".utf8)))
                           + tlv(0xA7, tlv(0x02, [0x12, 0x34, 0x56, 0x78]))
                           + tlv(0xA8, tlv(0x30, integer(18) + integer(17))))
        return tlv(0x6A, tlv(0x30, tlv(0xA1, integer(5)) + tlv(0xA2, integer(10)) + tlv(0xA4, body)))
    }

    // MARK: DNS

    /// A query for NAME's A record, with `id`.
    public static func dnsQuery(_ name: String, id: UInt16) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += label.utf8
        }
        return bytes + [0x00, 0x00, 0x01, 0x00, 0x01]
    }

    /// The A records of an answer to `dnsQuery`, or what is wrong with it.
    public static func dnsAddresses(_ bytes: [UInt8], id: UInt16) -> Result<[String], ProbeProblemText> {
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else { return .failure(ProbeProblemText("not an answer to the query")) }
        let rcode = bytes[3] & 0x0F
        guard rcode == 0 else { return .failure(ProbeProblemText(rcode == 3 ? "no such name" : "DNS error code \(rcode)")) }
        let questions = Int(bytes[4]) << 8 | Int(bytes[5])
        let answers = Int(bytes[6]) << 8 | Int(bytes[7])
        var offset = 12
        func skipName() -> Bool {
            while offset < bytes.count {
                let length = Int(bytes[offset])
                if length == 0 { offset += 1; return true }
                if length & 0xC0 == 0xC0 { offset += 2; return true }
                offset += 1 + length
            }
            return false
        }
        for _ in 0 ..< questions {
            guard skipName() else { return .failure(ProbeProblemText("malformed answer")) }
            offset += 4
        }
        var addresses: [String] = []
        for _ in 0 ..< answers {
            guard skipName(), offset + 10 <= bytes.count else { return .failure(ProbeProblemText("malformed answer")) }
            let type = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            let length = Int(bytes[offset + 8]) << 8 | Int(bytes[offset + 9])
            offset += 10
            guard offset + length <= bytes.count else { return .failure(ProbeProblemText("malformed answer")) }
            if type == 1, length == 4 { addresses.append(bytes[offset ..< offset + 4].map(String.init).joined(separator: ".")) }
            offset += length
        }
        return .success(addresses)
    }
}

/// A probe's finding in words.
public struct ProbeProblemText: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
