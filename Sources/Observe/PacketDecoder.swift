import Foundation

/// Turns one network's packets, in capture order, into timeline events. A packet routed between
/// networks is seen by several captures; each decoder keeps only the events whose sender (or, for a
/// sender outside, whose receiver) is on its own network, so an exchange is told once.
///
/// Exchanges are told when they conclude: a TCP connection when it is answered (`new`), refused
/// (`refused`) or left unanswered for `timeout` (`dropped`); a lookup, a request or a logon when
/// its answer comes.
public struct PacketDecoder: Sendable {
    public let book: AddressBook
    public let network: String
    public var timeout: TimeInterval

    public init(book: AddressBook, network: String, timeout: TimeInterval = 3) {
        self.book = book
        self.network = network
        self.timeout = timeout
    }

    /// One side of an exchange: who began it and who was asked.
    struct Pair: Hashable {
        var client: String
        var server: String
        var clientPort: Int
        var serverPort: Int
    }

    struct Opening {
        var time: Date
        var pair: Pair
    }

    private var connecting: [Pair: Opening] = [:]
    private var udpSeen: Set<Pair> = []
    private var lookups: [String: (time: Date, pair: Pair, query: String, type: String)] = [:]
    private var requests: [String: [(time: Date, pair: Pair, method: String, host: String?, path: String)]] = [:]
    private var mail: [String: (from: String?, to: [String], time: Date)] = [:]
    private var logons: [String: (time: Date, pair: Pair, user: String, domain: String?)] = [:]
    private var tickets: [String: (time: Date, pair: Pair, user: String?, realm: String?)] = [:]
    private var binds: [String: (time: Date, pair: Pair, user: String)] = [:]
    /// The newest packet's time: what `expire` measures against when reading a file.
    public private(set) var clock: Date = .distantPast

    // MARK: - Packets

    public mutating func decode(_ row: PacketRow) -> [TimelineEvent] {
        guard let time = row.time, let source = row.first(.ipSource), let destination = row.first(.ipDestination) else { return [] }
        // Multicast and broadcast (mDNS, LLMNR, SSDP, DHCP) go to nobody in particular, outside or in.
        if Self.isGroupAddress(destination) { return [] }
        // An ICMP error quotes the packet it answers: its ports and protocol fields are not this packet's.
        if !row[.icmpType].isEmpty { return [] }
        clock = max(clock, time)
        var events: [TimelineEvent] = []
        if let sport = row.int(.tcpSourcePort), let dport = row.int(.tcpDestinationPort) {
            let stream = row.first(.tcpStream) ?? "\(source):\(sport)-\(destination):\(dport)"
            events += tcp(row, time: time, source: source, destination: destination, sport: sport, dport: dport)
            events += http(row, time: time, stream: stream, source: source, destination: destination, sport: sport, dport: dport)
            events += smtp(row, time: time, stream: stream, source: source, destination: destination, sport: sport, dport: dport)
            events += smb(row, time: time, stream: stream, source: source, destination: destination, sport: sport, dport: dport)
            events += ldap(row, time: time, stream: stream, source: source, destination: destination, sport: sport, dport: dport)
            events += kerberos(row, time: time, key: "tcp\(stream)", source: source, destination: destination, sport: sport, dport: dport)
        } else if let sport = row.int(.udpSourcePort), let dport = row.int(.udpDestinationPort) {
            events += udp(time: time, source: source, destination: destination, sport: sport, dport: dport)
            events += dns(row, time: time, source: source, destination: destination, sport: sport, dport: dport)
            events += kerberos(row, time: time, key: "udp\(min(sport, dport))-\(max(sport, dport))-\([source, destination].sorted())",
                               source: source, destination: destination, sport: sport, dport: dport)
        }
        return events
    }

    /// Exchanges older than `timeout` at `now` that will not be answered any more.
    public mutating func expire(now: Date) -> [TimelineEvent] {
        let limit = now.addingTimeInterval(-timeout)
        var events: [TimelineEvent] = []
        for (pair, opening) in connecting where opening.time <= limit {
            connecting[pair] = nil
            events += emit(opening.time.addingTimeInterval(timeout), pair, .flow(protocol: "tcp", port: pair.serverPort, state: .dropped))
        }
        for (key, lookup) in lookups where lookup.time <= limit {
            lookups[key] = nil
            events += emit(lookup.time, lookup.pair, .dns(query: lookup.query, type: lookup.type, answers: [], rcode: "no answer"))
        }
        for (stream, pending) in requests {
            let (old, young) = (pending.filter { $0.time <= limit }, pending.filter { $0.time > limit })
            requests[stream] = young.isEmpty ? nil : young
            for request in old {
                events += emit(request.time, request.pair, .http(method: request.method, host: request.host, path: request.path, status: nil))
            }
        }
        // Halves of exchanges that are never told unanswered (an envelope without its message, a
        // logon without its answer) are let go after a minute, so that a long watch stays small.
        let stale = now.addingTimeInterval(-60)
        mail = mail.filter { $0.value.time > stale }
        logons = logons.filter { $0.value.time > stale }
        tickets = tickets.filter { $0.value.time > stale }
        binds = binds.filter { $0.value.time > stale }
        return events.sorted { $0.time < $1.time }
    }

    /// The time of the oldest exchange still waiting for its answer (that will be told, answered
    /// or not, at that time): no event before it is missing.
    public var oldestOpen: Date? {
        let times = connecting.values.map(\.time) + lookups.values.map(\.time) + requests.values.flatMap { $0.map(\.time) }
        return times.min()
    }

    /// What is still open at the end of a capture file, concluded as `expire` would.
    public mutating func finish() -> [TimelineEvent] {
        expire(now: clock.addingTimeInterval(timeout + 1))
    }

    // MARK: - Flows

    private mutating func tcp(_ row: PacketRow, time: Date, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        let syn = row.flag(.syn), ack = row.flag(.ack)
        if syn, !ack {
            let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
            // A retransmitted SYN is the same attempt.
            if connecting[pair] == nil { connecting[pair] = Opening(time: time, pair: pair) }
            return []
        }
        let answered = Pair(client: destination, server: source, clientPort: dport, serverPort: sport)
        guard let opening = connecting[answered] else { return [] }
        if syn, ack {
            connecting[answered] = nil
            return emit(opening.time, answered, .flow(protocol: "tcp", port: sport, state: .new))
        }
        if row.flag(.reset) {
            connecting[answered] = nil
            return emit(opening.time, answered, .flow(protocol: "tcp", port: sport, state: .refused))
        }
        return []
    }

    private mutating func udp(time: Date, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
        let reverse = Pair(client: destination, server: source, clientPort: dport, serverPort: sport)
        guard !udpSeen.contains(pair), !udpSeen.contains(reverse) else { return [] }
        // DHCP is DecoyNet's own (libvirt's dnsmasq), not the guests' doing; a lookup is told as `dns`.
        if [67, 68, 53].contains(dport) || [67, 68, 53].contains(sport) { return [] }
        if udpSeen.count > 100_000 { udpSeen.removeAll() }
        udpSeen.insert(pair)
        // The first packet seen may be an answer (from a service's port to a client's).
        if sport < 1024, dport >= 1024 { return [] }
        return emit(time, pair, .flow(protocol: "udp", port: dport, state: .new))
    }

    // MARK: - Protocols

    private mutating func dns(_ row: PacketRow, time: Date, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        guard let id = row.first(.dnsID), let query = row.first(.dnsQuery) else { return [] }
        let type = Self.recordType(row.int(.dnsType))
        if !row.flag(.dnsResponse) {
            let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
            lookups["\(source):\(sport)/\(id)"] = (time, pair, query, type)
            return []
        }
        let key = "\(destination):\(dport)/\(id)"
        let asked = lookups.removeValue(forKey: key)
        let pair = asked?.pair ?? Pair(client: destination, server: source, clientPort: dport, serverPort: sport)
        let answers = (row[.dnsA] + row[.dnsAAAA] + row[.dnsCNAME]).map(String.init)
        return emit(asked?.time ?? time, pair, .dns(query: query, type: type, answers: answers, rcode: Self.responseCode(row.int(.dnsRcode) ?? 0)))
    }

    private mutating func http(_ row: PacketRow, time: Date, stream: String, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        var events: [TimelineEvent] = []
        // Several requests may share a connection (and a segment); they are answered in order.
        for (index, method) in row[.httpMethod].enumerated() {
            let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
            let host = row[.httpHost].indices.contains(index) ? String(row[.httpHost][index]) : row.first(.httpHost)
            let path = row[.httpURI].indices.contains(index) ? String(row[.httpURI][index]) : "/"
            requests[stream, default: []].append((time, pair, String(method), host, path))
        }
        for status in row[.httpStatus] {
            guard var pending = requests[stream], !pending.isEmpty else { break }
            let request = pending.removeFirst()
            requests[stream] = pending.isEmpty ? nil : pending
            events += emit(request.time, request.pair, .http(method: request.method, host: request.host, path: request.path, status: Int(status)))
        }
        return events
    }

    private mutating func smtp(_ row: PacketRow, time: Date, stream: String, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        for (index, command) in row[.smtpCommand].enumerated() {
            let parameter = row[.smtpParameter].indices.contains(index) ? String(row[.smtpParameter][index]) : ""
            switch command.uppercased() {
            case "MAIL": mail[stream] = (Self.mailbox(parameter), [], time)
            case "RCPT": if let to = Self.mailbox(parameter) { mail[stream, default: (nil, [], time)].to.append(to) }
            default: break
            }
        }
        // The message itself (Wireshark's IMF) ends the envelope.
        guard !row[.mailSubject].isEmpty || !row[.mailFrom].isEmpty else { return [] }
        let envelope = mail.removeValue(forKey: stream)
        let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
        return emit(time, pair, .smtp(from: envelope?.from, to: envelope?.to ?? [], subject: row.first(.mailSubject)))
    }

    private mutating func smb(_ row: PacketRow, time: Date, stream: String, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        // SESSION_SETUP (command 1): the request carrying NTLMSSP's AUTHENTICATE, then its answer.
        guard row[.smb2Command].contains("1") else { return [] }
        if !row.flag(.smb2Response), let user = row.first(.ntlmUser) {
            let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
            logons[stream] = (time, pair, user, row.first(.ntlmDomain))
            return []
        }
        guard row.flag(.smb2Response), let logon = logons.removeValue(forKey: stream) else { return [] }
        let ok = (row.int(.smb2Status) ?? 1) == 0
        return emit(logon.time, logon.pair, .smbAuth(user: logon.user, domain: logon.domain, result: ok ? .ok : .failed))
    }

    private mutating func kerberos(_ row: PacketRow, time: Date, key: String, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        guard let type = row.int(.kerberosType) else { return [] }
        switch type {
        case 10: // AS-REQ: a logon
            let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
            tickets[key] = (time, pair, row.first(.kerberosName), row.first(.kerberosRealm))
            return []
        case 11: // AS-REP
            guard let asked = tickets.removeValue(forKey: key) else { return [] }
            return emit(asked.time, asked.pair, .kerberos(user: asked.user ?? row.first(.kerberosName), realm: asked.realm, result: .ok, error: nil))
        case 30: // KRB-ERROR
            let code = row.int(.kerberosError) ?? 0
            // Pre-authentication required is the first half of every logon, not a failure.
            guard code != 25, let asked = tickets.removeValue(forKey: key) else {
                if code == 25 { tickets[key] = nil }
                return []
            }
            return emit(asked.time, asked.pair, .kerberos(user: asked.user, realm: asked.realm ?? row.first(.kerberosRealm), result: .failed,
                                                         error: Self.kerberosError(code)))
        default:
            return []
        }
    }

    private mutating func ldap(_ row: PacketRow, time: Date, stream: String, source: String, destination: String, sport: Int, dport: Int) -> [TimelineEvent] {
        var events: [TimelineEvent] = []
        let operations = row[.ldapOperation], messages = row[.ldapMessage]
        for (index, operation) in operations.enumerated() {
            let message = messages.indices.contains(index) ? String(messages[index]) : "?"
            let key = "\(stream)/\(message)"
            if operation == "0" {
                let pair = Pair(client: source, server: destination, clientPort: sport, serverPort: dport)
                let name = row.first(.ldapName) ?? row.first(.ntlmUser) ?? ""
                binds[key] = (time, pair, binds[key]?.user.isEmpty == false ? binds[key]!.user : name)
            } else if operation == "1", let bind = binds[key] {
                let code = row.int(.ldapResult) ?? 0
                // 14: a SASL bind goes on with the next request of the same message id.
                if code == 14 { continue }
                binds[key] = nil
                events += emit(bind.time, bind.pair, .ldapBind(user: bind.user, result: code == 0 ? .ok : .failed))
            }
        }
        return events
    }

    // MARK: -

    /// An event of this network's, or none: the sender's network tells it (the receiver's when the
    /// sender is outside); DecoyNet's own side of a bridge is left out, except for lookups.
    private func emit(_ time: Date, _ pair: Pair, _ detail: TimelineEvent.Detail) -> [TimelineEvent] {
        guard book.home(source: pair.client, destination: pair.server) ?? network == network else { return [] }
        // What DecoyNet's side of a bridge begins is its own (health probes, DNS forwarded for the
        // guests, told where they asked); what guests ask of it, only lookups.
        if book.isBridge(pair.client) { return [] }
        if case .dns = detail {} else if book.isBridge(pair.server) { return [] }
        return [TimelineEvent(time: time, network: network, src: book.endpoint(pair.client), dst: book.endpoint(pair.server),
                              outside: book.isOutside(pair.client) || book.isOutside(pair.server), detail: detail)]
    }

    /// Multicast (224.0.0.0/4), the limited broadcast and the unspecified address.
    static func isGroupAddress(_ address: String) -> Bool {
        guard let first = address.split(separator: ".").first.flatMap({ Int($0) }) else { return false }
        return (224 ... 239).contains(first) || address == "255.255.255.255" || address == "0.0.0.0"
    }

    static func mailbox(_ parameter: String) -> String? {
        // "FROM:<a@b> SIZE=123", "TO:<a@b>"
        guard let open = parameter.firstIndex(of: "<"), let close = parameter[open...].firstIndex(of: ">") else {
            let bare = parameter.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
            return bare?.isEmpty == false ? bare : nil
        }
        return String(parameter[parameter.index(after: open) ..< close])
    }

    static func recordType(_ number: Int?) -> String {
        let names = [1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 255: "ANY"]
        guard let number else { return "?" }
        return names[number] ?? "TYPE\(number)"
    }

    static func responseCode(_ number: Int) -> String {
        let names = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]
        return names[number] ?? "RCODE\(number)"
    }

    static func kerberosError(_ code: Int) -> String {
        let names = [6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 14: "KDC_ERR_ETYPE_NOSUPP",
                     18: "KDC_ERR_CLIENT_REVOKED", 23: "KDC_ERR_KEY_EXPIRED", 24: "KDC_ERR_PREAUTH_FAILED", 37: "KRB_AP_ERR_SKEW",
                     68: "KDC_ERR_WRONG_REALM"]
        return names[code] ?? "KRB_ERROR_\(code)"
    }
}
