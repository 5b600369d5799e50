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
            // Each file from its end back, a piece at a time, only as far as the events asked for:
            // the page's last 200 events of a gigabyte timeline read a few pieces, not the gigabyte.
            var newestFirst: [TimelineEvent] = []
            Self.linesBackward(file, end: file == path ? start : nil) { line in
                if let event = TimelineEvent.parse(line: line), filter.accepts(event) { newestFirst.append(event) }
                return found.count + newestFirst.count < limit
            }
            found = newestFirst.reversed() + found
        }
        return found
    }

    /// Calls `body` with each whole line of `file` before `end` (its length when nil), the last
    /// first, reading `piece` bytes at a time from the end, until `body` says to stop (false). A
    /// line cut at `end` is not whole and is skipped, as a line being written is.
    public static func linesBackward(_ file: String, end: UInt64? = nil, piece: Int = 256 << 10, _ body: (String) -> Bool) {
        guard let handle = FileHandle(forReadingAtPath: file) else { return }
        defer { try? handle.close() }
        guard var offset = end ?? (try? handle.seekToEnd()), offset > 0 else { return }
        // The start of a line whose rest was read already (it began in a piece before this one).
        var carry = Data()
        var last = true
        while offset > 0 {
            let size = min(UInt64(piece), offset)
            offset -= size
            guard (try? handle.seek(toOffset: offset)) != nil, let read = try? handle.read(upToCount: Int(size)), !read.isEmpty else { return }
            var data = read + carry
            carry = Data()
            if offset > 0 {
                // Its first line may begin in the piece before: kept for then.
                guard let first = data.firstIndex(of: 0x0a) else {
                    carry = data
                    continue
                }
                carry = data[data.startIndex ..< first]
                data = data[data.index(after: first)...]
            }
            var lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
            // The end of the region: after a final newline an empty piece; else a line cut short.
            if last {
                lines.removeLast()
                last = false
            }
            for line in lines.reversed() where !line.isEmpty {
                if !body(String(decoding: line, as: UTF8.self)) { return }
            }
        }
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
