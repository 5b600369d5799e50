import Foundation

/// The logs of the environment's own infrastructure, read from outside its hosts through the guest
/// agent (nothing runs inside a victim to read them): the gateways' firewall drops (kernel log,
/// prefix `decoynet-drop`) and the internet host's INetSim log. Their times are the guests' clocks,
/// moved by how far each guest's clock was from this machine's when it was read.

/// A packet a gateway's firewall dropped.
public struct FirewallDrop: Sendable, Equatable {
    public var time: Date
    public var gateway: String
    /// `tcp` or `udp`.
    public var protocolName: String
    public var source: String
    public var destination: String
    public var port: Int
    /// The source port: a connection's retried SYNs share it.
    public var sourcePort: Int?

    public init(time: Date, gateway: String, protocolName: String, source: String, destination: String, port: Int, sourcePort: Int? = nil) {
        self.time = time
        self.gateway = gateway
        self.protocolName = protocolName
        self.source = source
        self.destination = destination
        self.port = port
        self.sourcePort = sourcePort
    }

    /// The drop as a timeline line: a flow dropped, told by the gateway.
    public func event(_ book: AddressBook) -> TimelineEvent {
        TimelineEvent(time: time, network: book.home(source: source, destination: destination) ?? book.network(of: source),
                      src: book.endpoint(source), dst: book.endpoint(destination),
                      outside: book.isOutside(source) || book.isOutside(destination), by: gateway,
                      detail: .flow(protocol: protocolName, port: port, state: .dropped))
    }
}

public enum FirewallLog {
    /// What runs inside a gateway for its kernel lines after `cursor`, or the first time since
    /// `since` (on the gateway's clock): `journalctl`'s JSON, one entry a line.
    public static func command(after cursor: String?, since: Date) -> [String] {
        let base = ["journalctl", "-k", "-o", "json", "--no-pager"]
        guard let cursor else { return base + ["--since", "@\(Int(since.timeIntervalSince1970))"] }
        return base + ["--after-cursor", cursor]
    }

    /// The drops of `journalctl -o json` output (lines that begin with `prefix`) and the cursor to
    /// go on from (the last entry's).
    public static func parse(journal text: String, prefix: String, gateway: String, clockOffset: TimeInterval) -> (drops: [FirewallDrop], cursor: String?) {
        var drops: [FirewallDrop] = []
        var cursor: String?
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let next = object["__CURSOR"] as? String { cursor = next }
            guard let message = object["MESSAGE"] as? String, let micros = (object["__REALTIME_TIMESTAMP"] as? String).flatMap(Double.init) else { continue }
            let time = Date(timeIntervalSince1970: micros / 1_000_000 + clockOffset)
            if let drop = parse(message: message, prefix: prefix, time: time, gateway: gateway) { drops.append(drop) }
        }
        return (drops, cursor)
    }

    /// One kernel line: `decoynet-drop: IN=eth0 OUT=eth1 ... SRC=A DST=B ... PROTO=TCP SPT=P DPT=Q ...`.
    public static func parse(message: String, prefix: String, time: Date, gateway: String) -> FirewallDrop? {
        guard message.hasPrefix(prefix + ":") else { return nil }
        let fields = keyedWords(message.dropFirst(prefix.count + 1))
        guard let source = fields["SRC"], let destination = fields["DST"], let proto = fields["PROTO"]?.lowercased(), ["tcp", "udp"].contains(proto),
              let port = fields["DPT"].flatMap({ Int($0) }) else { return nil }
        return FirewallDrop(time: time, gateway: gateway, protocolName: proto, source: String(source), destination: String(destination), port: port,
                            sourcePort: fields["SPT"].flatMap { Int($0) })
    }
}

/// The `KEY=VALUE` words of a log line (words without `=` are left out).
func keyedWords(_ text: Substring) -> [Substring: Substring] {
    var fields: [Substring: Substring] = [:]
    for word in text.split(separator: " ") {
        guard let equals = word.firstIndex(of: "=") else { continue }
        fields[word[..<equals]] = word[word.index(after: equals)...]
    }
    return fields
}

/// INetSim's `service.log`, read a line at a time: a request it answered inside TLS (HTTPS), which
/// the packets show only as a flow, becomes an `http` event told by the internet host. Plain HTTP,
/// DNS and SMTP are left to the packets, which tell them already.
public struct InetSimLog: Sendable {
    public static let path = "/var/log/inetsim/service.log"

    /// The status each connection's process last sent.
    private var status: [String: Int] = [:]
    public let book: AddressBook
    public let host: String
    /// The internet host's address, every request's `dst`.
    let server: String?

    public init(book: AddressBook, host: String) {
        self.book = book
        self.host = host
        server = book.hosts.first { $0.value == host }?.key
    }

    /// `[2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.66.1.10:51234] stat: 1 method=GET url=https://c2.example.net/x sent=... postdata=`
    public mutating func take(_ text: some StringProtocol, clockOffset: TimeInterval) -> TimelineEvent? {
        let line = Substring(text)
        let parts = line.split(separator: "]", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5 else { return nil }
        func bracketed(_ part: Substring) -> Substring? {
            let trimmed = part.drop { $0 == " " }
            return trimmed.first == "[" ? trimmed.dropFirst() : nil
        }
        guard let stamp = bracketed(parts[0]), let service = bracketed(parts[2]), let client = bracketed(parts[3]) else { return nil }
        let message = parts[4].drop { $0 == " " }
        let process = String(service)
        guard service.hasPrefix("https"), let colon = client.lastIndex(of: ":") else { return nil }
        let address = String(client[..<colon])
        if message.hasPrefix("send: HTTP/") {
            // `send: HTTP/1.1 200 OK`
            let words = message.split(separator: " ")
            if words.count >= 3, let code = Int(words[2]) { status[process] = code }
            return nil
        }
        guard message.hasPrefix("stat: ") else { return nil }
        let fields = keyedWords(message.dropFirst(6))
        guard let method = fields["method"], let url = fields["url"], let time = Self.time(stamp) else { return nil }
        var requestHost: String?
        var path = String(url)
        if let scheme = url.range(of: "://") {
            let rest = url[scheme.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            requestHost = String(rest[..<slash])
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
        }
        let answered = status.removeValue(forKey: process)
        return TimelineEvent(time: time.addingTimeInterval(clockOffset), network: book.network(of: address), src: book.endpoint(address),
                             dst: server.map(book.endpoint), outside: true, by: host,
                             detail: .http(method: String(method), host: requestHost, path: path, status: answered))
    }

    /// INetSim's stamp, in the internet host's local time, which is UTC.
    static func time(_ text: Substring) -> Date? {
        let parts = text.split(whereSeparator: { "- :".contains($0) }).compactMap { Int32($0) }
        guard parts.count == 6 else { return nil }
        var value = tm()
        value.tm_year = parts[0] - 1900
        value.tm_mon = parts[1] - 1
        value.tm_mday = parts[2]
        value.tm_hour = parts[3]
        value.tm_min = parts[4]
        value.tm_sec = parts[5]
        let seconds = timegm(&value)
        return seconds < 0 ? nil : Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

/// The gateways' recent drops, against which the packets' unanswered connections are matched: a
/// connection a firewall dropped is told once, by the firewall, not again as unanswered. The
/// packets' unanswered connections wait `hold` seconds for the firewall's line, which comes with
/// the next read of the gateway's log.
final class RecentDrops: @unchecked Sendable {
    private struct Key: Hashable {
        var source: String
        var destination: String
        var port: Int
        var protocolName: String
    }

    let hold: TimeInterval
    private var held: [(event: TimelineEvent, until: Date)] = []
    private var drops: [Key: (time: Date, seen: Date)] = [:]
    /// The connections told, by their source port too, and when.
    private var told: [String: Date] = [:]
    private let lock = NSLock()

    init(hold: TimeInterval = 4) {
        self.hold = hold
    }

    /// The events to write now; the unanswered TCP connections are held back.
    func hold(_ events: [TimelineEvent], now: Date = Date()) -> [TimelineEvent] {
        var ready: [TimelineEvent] = []
        lock.withLock {
            for event in events {
                if case let .flow(proto, _, state) = event.detail, proto == "tcp", state == .dropped, event.by == nil {
                    held.append((event, now.addingTimeInterval(hold)))
                } else {
                    ready.append(event)
                }
            }
        }
        return ready
    }

    /// The held events whose wait is over (all, with `.distantFuture`), less those a firewall told.
    func release(now: Date = Date()) -> [TimelineEvent] {
        let due: [TimelineEvent] = lock.withLock {
            let due = held.filter { $0.until <= now }.map(\.event)
            held.removeAll { $0.until <= now }
            return due
        }
        return filter(due)
    }

    /// Takes drops as read; returns those of connections not told yet (a retried SYN is the same
    /// connection, dropped again).
    @discardableResult
    func add(_ new: [FirewallDrop], now: Date = Date()) -> [FirewallDrop] {
        lock.withLock {
            drops = drops.filter { now.timeIntervalSince($0.value.seen) < 60 }
            told = told.filter { now.timeIntervalSince($0.value) < 60 }
            var fresh: [FirewallDrop] = []
            for drop in new {
                drops[Key(source: drop.source, destination: drop.destination, port: drop.port, protocolName: drop.protocolName)] = (drop.time, now)
                let connection = "\(drop.protocolName) \(drop.source):\(drop.sourcePort ?? -1) \(drop.destination):\(drop.port)"
                if told[connection] == nil { fresh.append(drop) }
                told[connection] = now
            }
            return fresh
        }
    }

    /// The events without the TCP connections left unanswered because a firewall dropped them.
    func filter(_ events: [TimelineEvent]) -> [TimelineEvent] {
        lock.withLock {
            guard !drops.isEmpty else { return events }
            return events.filter { event in
                guard case let .flow(proto, port, state) = event.detail, state == .dropped, let source = event.src?.address,
                      let destination = event.dst?.address,
                      let drop = drops[Key(source: source, destination: destination, port: port, protocolName: proto)] else { return true }
                // The guest's clock, moved to this machine's, within a few seconds of the packet.
                return abs(drop.time.timeIntervalSince(event.time)) > 10
            }
        }
    }
}
