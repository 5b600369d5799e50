import Foundation

/// The fields DecoyNet asks tshark for, one packet a line; Wireshark's own names.
public enum PacketField: String, CaseIterable, Sendable {
    case time = "frame.time_epoch"
    case ipSource = "ip.src", ipDestination = "ip.dst", icmpType = "icmp.type"
    case tcpSourcePort = "tcp.srcport", tcpDestinationPort = "tcp.dstport"
    case syn = "tcp.flags.syn", ack = "tcp.flags.ack", reset = "tcp.flags.reset"
    case tcpStream = "tcp.stream"
    case udpSourcePort = "udp.srcport", udpDestinationPort = "udp.dstport"
    case dnsResponse = "dns.flags.response", dnsID = "dns.id", dnsQuery = "dns.qry.name", dnsType = "dns.qry.type"
    case dnsA = "dns.a", dnsAAAA = "dns.aaaa", dnsCNAME = "dns.cname", dnsRcode = "dns.flags.rcode"
    case httpMethod = "http.request.method", httpHost = "http.host", httpURI = "http.request.uri", httpStatus = "http.response.code"
    case smtpCommand = "smtp.req.command", smtpParameter = "smtp.req.parameter", mailSubject = "imf.subject", mailFrom = "imf.from"
    case smb2Command = "smb2.cmd", smb2Response = "smb2.flags.response", smb2Status = "smb2.nt_status"
    case ntlmUser = "ntlmssp.auth.username", ntlmDomain = "ntlmssp.auth.domain"
    case kerberosType = "kerberos.msg_type", kerberosName = "kerberos.CNameString", kerberosRealm = "kerberos.realm"
    case kerberosError = "kerberos.error_code"
    case ldapOperation = "ldap.protocolOp", ldapMessage = "ldap.messageID", ldapName = "ldap.name", ldapResult = "ldap.resultCode"

    /// Between fields, and between the values of a field that occurs more than once in a packet:
    /// ASCII's record and unit separators, which no field's text holds.
    public static let separator: Character = "\u{1e}"
    public static let aggregator: Character = "\u{1f}"

    /// tshark's arguments after its input: no name resolution, these fields, every occurrence.
    public static var tsharkArguments: [String] {
        ["-n", "-T", "fields"] + allCases.flatMap { ["-e", $0.rawValue] }
            + ["-E", "separator=\(separator)", "-E", "occurrence=a", "-E", "aggregator=\(aggregator)", "-E", "quote=n"]
    }
}

/// One packet as tshark printed it: each field's values, in the order of `PacketField.allCases`.
public struct PacketRow: Sendable {
    var values: [[Substring]]

    /// nil for a line that is not a row of `PacketField`s (tshark's warnings).
    public init?(line: Substring) {
        let columns = line.split(separator: PacketField.separator, omittingEmptySubsequences: false)
        guard columns.count == PacketField.allCases.count else { return nil }
        values = columns.map { $0.isEmpty ? [] : $0.split(separator: PacketField.aggregator, omittingEmptySubsequences: false) }
    }

    private static let indices = Dictionary(uniqueKeysWithValues: PacketField.allCases.enumerated().map { ($1, $0) })

    public subscript(_ field: PacketField) -> [Substring] { values[Self.indices[field]!] }

    public func first(_ field: PacketField) -> String? { self[field].first.map(String.init) }

    public func int(_ field: PacketField) -> Int? {
        guard let text = self[field].first else { return nil }
        return text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
    }

    public func flag(_ field: PacketField) -> Bool { ["1", "True"].contains(self[field].first ?? "") }

    public var time: Date? { first(.time).flatMap(Double.init).map { Date(timeIntervalSince1970: $0) } }
}
