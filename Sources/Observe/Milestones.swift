import Foundation

/// A point of a run worth marking: `delivered`, `opened`, `c2`, `lateral`, `ended`.
public struct Milestone: Sendable, Equatable {
    public var name: String
    public var time: Date
    /// The event that showed it, when one did.
    public var event: TimelineEvent?

    public init(name: String, time: Date, event: TimelineEvent? = nil) {
        self.name = name
        self.time = time
        self.event = event
    }

    /// The milestone as a timeline line of kind `milestone`.
    public var timelineEvent: TimelineEvent {
        TimelineEvent(time: time, network: event?.network, src: event?.src, dst: event?.dst, outside: event?.outside ?? false,
                      detail: .milestone(name: name))
    }
}

/// When a run ends of itself (`--until`).
public enum RunEnd: Sendable, Equatable, CustomStringConvertible {
    /// The first connection from a host of the environment to an address outside it.
    case c2
    /// The first connection from an opened host to another host on a port it had not used before.
    case lateral
    /// No event for this long.
    case quiet(TimeInterval)

    /// `c2`, `lateral` or `quiet:DURATION` (`90s`, `5m`, `1h`, or seconds).
    public init?(_ text: String) {
        switch text {
        case "c2": self = .c2
        case "lateral": self = .lateral
        default:
            guard text.hasPrefix("quiet:"), let seconds = RunEnd.seconds(String(text.dropFirst(6))), seconds > 0 else { return nil }
            self = .quiet(seconds)
        }
    }

    public var name: String {
        switch self {
        case .c2: "c2"
        case .lateral: "lateral"
        case .quiet: "quiet"
        }
    }

    public var description: String {
        if case let .quiet(seconds) = self { return "quiet:\(Int(seconds))s" }
        return name
    }

    /// A duration as `30m`, `90s`, `2h` or a plain number of seconds.
    public static func seconds(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        // Digits and a point only: no "inf", "nan" or exponents.
        func number(_ digits: Substring) -> Double? {
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(digits), value.isFinite else { return nil }
            return value
        }
        if let unit = text.last, let scale = units[unit], let value = number(text.dropLast()) { return value * scale }
        return number(Substring(text))
    }
}

/// Finds a run's milestones in its timeline as events come: the first call home and the first move
/// to another host. Pure: fed events, asked about the time; the run loop decides what to do.
public struct MilestoneDetector: Sendable {
    /// The hosts the sample was opened on.
    public let opened: Set<String>
    /// When it was opened: only what came after counts.
    public let since: Date
    /// Hosts that stand for the outside; a connection from one is not a call home.
    public let outsideHosts: Set<String>
    /// The ports each opened host connected to before the sample was opened.
    public private(set) var usedPorts: [String: Set<Int>]
    public private(set) var c2: Milestone?
    public private(set) var lateral: Milestone?
    /// The newest event's time, for `quiet`.
    public private(set) var lastEvent: Date

    /// `before`: the environment's timeline up to the opening, from which each opened host's usual
    /// ports are learnt.
    public init(opened: Set<String>, since: Date, outsideHosts: Set<String>, before: [TimelineEvent] = []) {
        self.opened = opened
        self.since = since
        self.outsideHosts = outsideHosts
        lastEvent = since
        usedPorts = [:]
        for event in before where event.time < since {
            if let (source, port) = Self.connection(event), opened.contains(source) { usedPorts[source, default: []].insert(port) }
        }
    }

    /// Takes one event of the timeline; returns the milestones it shows, first time only.
    public mutating func observe(_ event: TimelineEvent) -> [Milestone] {
        guard event.time >= since else {
            if let (source, port) = Self.connection(event), opened.contains(source) { usedPorts[source, default: []].insert(port) }
            return []
        }
        if case .milestone = event.detail { return [] }
        lastEvent = max(lastEvent, event.time)
        var found: [Milestone] = []
        if c2 == nil, isCallHome(event) {
            c2 = Milestone(name: "c2", time: event.time, event: event)
            found.append(c2!)
        }
        if lateral == nil, let (source, port) = Self.connection(event), opened.contains(source),
           let destination = event.dst?.host, destination != source, !outsideHosts.contains(destination), !event.outside,
           !(usedPorts[source]?.contains(port) ?? false) {
            lateral = Milestone(name: "lateral", time: event.time, event: event)
            found.append(lateral!)
        }
        return found
    }

    /// The milestone that ends the run by `end`, if it has come; `quiet` against `now`.
    public func reached(_ end: RunEnd, now: Date) -> Milestone? {
        switch end {
        case .c2: return c2
        case .lateral: return lateral
        case let .quiet(seconds):
            return now.timeIntervalSince(lastEvent) >= seconds ? Milestone(name: "quiet", time: lastEvent.addingTimeInterval(seconds)) : nil
        }
    }

    /// A connection made (a TCP flow answered, a UDP flow, an HTTP request): its source host and port.
    static func connection(_ event: TimelineEvent) -> (String, Int)? {
        guard let source = event.src?.host else { return nil }
        if case let .flow(_, port, state) = event.detail, state == .new { return (source, port) }
        return nil
    }

    private func isCallHome(_ event: TimelineEvent) -> Bool {
        guard event.outside, let source = event.src?.host, !outsideHosts.contains(source) else { return false }
        switch event.detail {
        case let .flow(_, _, state): return state == .new
        case .http: return true
        default: return false
        }
    }
}
