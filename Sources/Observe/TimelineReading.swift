import Foundation

/// Which events a reader wants: by kind and by host (either end), in a time range.
public struct TimelineFilter: Sendable {
    public var kinds: Set<TimelineEvent.Kind>
    public var hosts: Set<String>
    public var from: Date?
    public var until: Date?

    public init(kinds: Set<TimelineEvent.Kind> = [], hosts: Set<String> = [], from: Date? = nil, until: Date? = nil) {
        self.kinds = kinds
        self.hosts = hosts
        self.from = from
        self.until = until
    }

    public func accepts(_ event: TimelineEvent) -> Bool {
        if !kinds.isEmpty, !kinds.contains(event.kind) { return false }
        if !hosts.isEmpty, hosts.isDisjoint(with: event.hosts) { return false }
        if let from, event.time < from { return false }
        if let until, event.time > until { return false }
        return true
    }
}

/// A timeline file followed as it grows, across rotation (the file renamed, a new one begun):
/// each complete line once.
public final class TimelineTail: @unchecked Sendable {
    public let path: String
    private var handle: FileHandle?
    private var inode: UInt64 = 0
    private var partial = Data()

    /// Where reading began in the current file (its end, with `fromEnd`).
    private var start: UInt64 = 0

    /// `fromEnd`: only what is written from now on (`history` has what was there before).
    public init(path: String, fromEnd: Bool) {
        self.path = path
        open(seekToEnd: fromEnd)
    }

    private func open(seekToEnd: Bool) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let handle = FileHandle(forReadingAtPath: path) else { return }
        self.handle = handle
        inode = (attributes[.systemFileNumber] as? UInt64) ?? 0
        if seekToEnd { start = (try? handle.seekToEnd()) ?? 0 }
    }

    /// What the timeline held when this tail began, newest last: at most `limit` events that
    /// `filter` accepts, read from the newest file back (a long watch keeps gigabytes), so that
    /// history and tail together tell each event once.
    public func history(_ store: TimelineStore, filter: TimelineFilter = TimelineFilter(), limit: Int = .max) -> [TimelineEvent] {
        var found: [TimelineEvent] = []
        for file in store.files.reversed() where found.count < limit {
            guard var data = FileManager.default.contents(atPath: file) else { continue }
            if file == path { data = data.prefix(Int(start)) }
            let events = TimelineEvent.parse(lines: String(decoding: data, as: UTF8.self)).filter(filter.accepts)
            found = events.suffix(limit - found.count) + found
        }
        return found
    }

    /// The events written since the last call.
    public func read() -> [TimelineEvent] {
        if handle == nil { open(seekToEnd: false) }
        guard let handle else { return [] }
        var events = drain(handle)
        // Rotated: what was left in the old file is read above; the new file from its start.
        let current = ((try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? UInt64) ?? 0
        if current != inode, current != 0 {
            try? handle.close()
            self.handle = nil
            partial = Data()
            open(seekToEnd: false)
            if let next = self.handle { events += drain(next) }
        }
        return events
    }

    private func drain(_ handle: FileHandle) -> [TimelineEvent] {
        guard let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        partial.append(data)
        var events: [TimelineEvent] = []
        while let newline = partial.firstIndex(of: 0x0a) {
            let line = String(decoding: partial[partial.startIndex ..< newline], as: UTF8.self)
            partial.removeSubrange(partial.startIndex ... newline)
            if let event = TimelineEvent.parse(line: line) { events.append(event) }
        }
        return events
    }
}

extension TimelineEvent {
    /// An end as people read it: `ws-01 (10.10.0.5)`, or the bare address outside the environment.
    public static func name(_ endpoint: Endpoint?) -> String {
        guard let endpoint else { return "-" }
        return endpoint.host.map { "\($0) (\(endpoint.address))" } ?? endpoint.address
    }

    /// One line for people: time, network, kind, who to whom, what.
    public var summary: String {
        let route = kind == .milestone ? "" : "\(Self.name(src)) -> \(Self.name(dst))  "
        return "\(Self.timeText(time))  \((network ?? "-").padding(toLength: 8, withPad: " ", startingAt: 0))  "
            + "\(kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(route)\(what)\(outside ? "  [outside]" : "")\(by.map { "  [by \($0)]" } ?? "")"
    }

    /// What happened, for people: the detail in a few words.
    public var what: String {
        switch detail {
        case let .dns(query, type, answers, rcode): "\(query) \(type) -> \(answers.isEmpty ? "(none)" : answers.joined(separator: ", ")) \(rcode)"
        case let .flow(proto, port, state): "\(proto)/\(port) \(state.rawValue)"
        case let .http(method, host, path, status): "\(method) \(host ?? "")\(path) \(status.map(String.init) ?? "(no answer)")"
        case let .smbAuth(user, domain, result): "\(domain.map { $0 + "\\" } ?? "")\(user) \(result.rawValue)"
        case let .kerberos(user, realm, result, error): "\(user ?? "?")@\(realm ?? "?") \(result.rawValue)\(error.map { " " + $0 } ?? "")"
        case let .ldapBind(user, result): "\(user) \(result.rawValue)"
        case let .smtp(from, to, subject): "\(from ?? "?") -> \(to.joined(separator: ", ")): \(subject ?? "")"
        case let .milestone(name): name
        case let .file(path, change, _): "\(change) \(path)"
        }
    }
}
