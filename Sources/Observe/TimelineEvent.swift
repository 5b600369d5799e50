import Foundation

/// One thing that happened on an environment's networks, seen from outside its hosts: a line of the
/// timeline (OBSERVE.md, "The timeline"). Encoded with its keys in the contract's order.
public struct TimelineEvent: Sendable, Equatable, Codable {
    public var time: Date
    public var kind: Kind
    /// The network it was seen on.
    public var network: String?
    public var src: Endpoint?
    public var dst: Endpoint?
    /// Whether either end is outside the environment.
    public var outside: Bool
    /// Who told it when not the packets: the gateway whose firewall dropped it, or the internet
    /// host whose log holds it (a request inside TLS, which no packet shows).
    public var by: String?
    public var detail: Detail

    public enum Kind: String, Sendable, Codable, CaseIterable {
        case dns, flow, http, smbAuth = "smb-auth", kerberos, ldapBind = "ldap-bind", smtp, milestone, file
    }

    /// An address, and the environment's name for it (nil outside the environment).
    public struct Endpoint: Sendable, Equatable, Codable {
        public var host: String?
        public var address: String

        public init(host: String?, address: String) {
            self.host = host
            self.address = address
        }

        enum CodingKeys: String, CodingKey { case host, address }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(host, forKey: .host)
            try container.encode(address, forKey: .address)
        }
    }

    /// What each kind carries, field names as in the contract's table.
    public enum Detail: Sendable, Equatable {
        case dns(query: String, type: String, answers: [String], rcode: String)
        case flow(protocol: String, port: Int, state: FlowState)
        case http(method: String, host: String?, path: String, status: Int?)
        case smbAuth(user: String, domain: String?, result: AuthResult)
        case kerberos(user: String?, realm: String?, result: AuthResult, error: String?)
        case ldapBind(user: String, result: AuthResult)
        case smtp(from: String?, to: [String], subject: String?)
        case milestone(name: String)
        case file(path: String, change: String, sha256: String?)

        public var kind: Kind {
            switch self {
            case .dns: .dns
            case .flow: .flow
            case .http: .http
            case .smbAuth: .smbAuth
            case .kerberos: .kerberos
            case .ldapBind: .ldapBind
            case .smtp: .smtp
            case .milestone: .milestone
            case .file: .file
            }
        }
    }

    public enum FlowState: String, Sendable, Codable { case new, refused, dropped }
    public enum AuthResult: String, Sendable, Codable { case ok, failed }

    public init(time: Date, network: String?, src: Endpoint?, dst: Endpoint?, outside: Bool = false, by: String? = nil, detail: Detail) {
        self.time = time
        self.kind = detail.kind
        self.network = network
        self.src = src
        self.dst = dst
        self.outside = outside
        self.by = by
        self.detail = detail
    }

    /// The environment's host names at either end.
    public var hosts: [String] { [src?.host, dst?.host].compactMap { $0 } }

    // MARK: - JSON

    enum CodingKeys: String, CodingKey { case time, kind, network, src, dst, outside, by, detail }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.timeText(time), forKey: .time)
        try container.encode(kind, forKey: .kind)
        try container.encode(network, forKey: .network)
        try container.encode(src, forKey: .src)
        try container.encode(dst, forKey: .dst)
        if outside { try container.encode(true, forKey: .outside) }
        try container.encodeIfPresent(by, forKey: .by)
        var detailContainer = container.nestedContainer(keyedBy: DetailKey.self, forKey: .detail)
        try detail.encode(into: &detailContainer)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .time)
        guard let time = Self.parseTime(text) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: container, debugDescription: "not a time: \(text)")
        }
        self.time = time
        kind = try container.decode(Kind.self, forKey: .kind)
        network = try container.decodeIfPresent(String.self, forKey: .network)
        src = try container.decodeIfPresent(Endpoint.self, forKey: .src)
        dst = try container.decodeIfPresent(Endpoint.self, forKey: .dst)
        outside = try container.decodeIfPresent(Bool.self, forKey: .outside) ?? false
        by = try container.decodeIfPresent(String.self, forKey: .by)
        detail = try Detail.decode(kind, from: container.nestedContainer(keyedBy: DetailKey.self, forKey: .detail))
    }

    /// One line of `timeline.jsonl`, without its newline: the contract's keys in its order (Foundation's
    /// encoder on Linux orders keys by chance).
    public func jsonLine() -> String {
        var line = JSONLine()
        line.field("time", .string(Self.timeText(time)))
        line.field("kind", .string(kind.rawValue))
        line.field("network", network.map(JSONLine.Value.string) ?? .null)
        for (key, endpoint) in [("src", src), ("dst", dst)] {
            line.field(key, endpoint.map { .object([("host", $0.host.map(JSONLine.Value.string) ?? .null), ("address", .string($0.address))]) } ?? .null)
        }
        if outside { line.field("outside", .bool(true)) }
        if let by { line.field("by", .string(by)) }
        line.field("detail", .object(detail.fields))
        return line.text
    }

    /// Equal to the millisecond, the timeline's precision.
    public static func == (lhs: TimelineEvent, rhs: TimelineEvent) -> Bool {
        lhs.milliseconds == rhs.milliseconds && lhs.kind == rhs.kind && lhs.network == rhs.network && lhs.src == rhs.src
            && lhs.dst == rhs.dst && lhs.outside == rhs.outside && lhs.by == rhs.by && lhs.detail == rhs.detail
    }

    public var milliseconds: Int64 { Int64((time.timeIntervalSince1970 * 1000).rounded()) }

    public static func parse(line: some StringProtocol) -> TimelineEvent? {
        try? JSONDecoder().decode(TimelineEvent.self, from: Data(line.utf8))
    }

    /// RFC 3339 in UTC with milliseconds, as the contract writes times.
    public static func timeText(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var time = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000))
    }

    /// The UTC second in ISO 8601's basic form (`20261201T100000Z`): names of folders that sort by time.
    public static func basicTime(_ date: Date) -> String {
        String(timeText(date).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "").prefix(15)) + "Z"
    }

    /// The events of timeline text, one a line; lines that are not events are skipped.
    public static func parse(lines text: some StringProtocol) -> [TimelineEvent] {
        text.split(separator: "\n").compactMap { parse(line: $0) }
    }

    public static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

struct DetailKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension TimelineEvent.Detail {
    /// The detail's keys and values, in the contract's order.
    var fields: [(String, JSONLine.Value)] {
        func text(_ value: String?) -> JSONLine.Value { value.map(JSONLine.Value.string) ?? .null }
        func texts(_ values: [String]) -> JSONLine.Value { .array(values.map(JSONLine.Value.string)) }
        switch self {
        case let .dns(query, type, answers, rcode):
            return [("query", text(query)), ("type", text(type)), ("answers", texts(answers)), ("rcode", text(rcode))]
        case let .flow(proto, port, state):
            return [("protocol", text(proto)), ("port", .number(port)), ("state", text(state.rawValue))]
        case let .http(method, host, path, status):
            return [("method", text(method)), ("host", text(host)), ("path", text(path)), ("status", status.map(JSONLine.Value.number) ?? .null)]
        case let .smbAuth(user, domain, result):
            return [("user", text(user)), ("domain", text(domain)), ("result", text(result.rawValue))]
        case let .kerberos(user, realm, result, error):
            return [("user", text(user)), ("realm", text(realm)), ("result", text(result.rawValue))] + (error.map { [("error", text($0))] } ?? [])
        case let .ldapBind(user, result):
            return [("user", text(user)), ("result", text(result.rawValue))]
        case let .smtp(from, to, subject):
            return [("from", text(from)), ("to", texts(to)), ("subject", text(subject))]
        case let .milestone(name):
            return [("name", text(name))]
        case let .file(path, change, sha256):
            return [("path", text(path)), ("change", text(change)), ("sha256", text(sha256))]
        }
    }

    func encode(into container: inout KeyedEncodingContainer<DetailKey>) throws {
        func put(_ key: String, _ value: some Encodable) throws { try container.encode(value, forKey: DetailKey(key)) }
        switch self {
        case let .dns(query, type, answers, rcode):
            try put("query", query); try put("type", type); try put("answers", answers); try put("rcode", rcode)
        case let .flow(proto, port, state):
            try put("protocol", proto); try put("port", port); try put("state", state)
        case let .http(method, host, path, status):
            try put("method", method); try put("host", host); try put("path", path); try put("status", status)
        case let .smbAuth(user, domain, result):
            try put("user", user); try put("domain", domain); try put("result", result)
        case let .kerberos(user, realm, result, error):
            try put("user", user); try put("realm", realm); try put("result", result)
            if let error { try put("error", error) }
        case let .ldapBind(user, result):
            try put("user", user); try put("result", result)
        case let .smtp(from, to, subject):
            try put("from", from); try put("to", to); try put("subject", subject)
        case let .milestone(name):
            try put("name", name)
        case let .file(path, change, sha256):
            try put("path", path); try put("change", change); try put("sha256", sha256)
        }
    }

    static func decode(_ kind: TimelineEvent.Kind, from container: KeyedDecodingContainer<DetailKey>) throws -> Self {
        func string(_ key: String) throws -> String { try container.decode(String.self, forKey: DetailKey(key)) }
        func optional(_ key: String) throws -> String? { try container.decodeIfPresent(String.self, forKey: DetailKey(key)) }
        func result() throws -> TimelineEvent.AuthResult { try container.decode(TimelineEvent.AuthResult.self, forKey: DetailKey("result")) }
        switch kind {
        case .dns:
            return .dns(query: try string("query"), type: try string("type"),
                        answers: try container.decodeIfPresent([String].self, forKey: DetailKey("answers")) ?? [], rcode: try string("rcode"))
        case .flow:
            return .flow(protocol: try string("protocol"), port: try container.decode(Int.self, forKey: DetailKey("port")),
                         state: try container.decode(TimelineEvent.FlowState.self, forKey: DetailKey("state")))
        case .http:
            return .http(method: try string("method"), host: try optional("host"), path: try string("path"),
                         status: try container.decodeIfPresent(Int.self, forKey: DetailKey("status")))
        case .smbAuth: return .smbAuth(user: try string("user"), domain: try optional("domain"), result: try result())
        case .kerberos: return .kerberos(user: try optional("user"), realm: try optional("realm"), result: try result(), error: try optional("error"))
        case .ldapBind: return .ldapBind(user: try string("user"), result: try result())
        case .smtp:
            return .smtp(from: try optional("from"), to: try container.decodeIfPresent([String].self, forKey: DetailKey("to")) ?? [],
                         subject: try optional("subject"))
        case .milestone: return .milestone(name: try string("name"))
        case .file: return .file(path: try string("path"), change: try string("change"), sha256: try optional("sha256"))
        }
    }
}
