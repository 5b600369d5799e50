import Diagnostics
import Foundation

/// `activity`: the people at work, their days in the organisation's time zone.
public struct ActivitySpec: Sendable, Equatable {
    /// Minutes after midnight, local time: when the workday begins and ends.
    public var workdayStart = 9 * 60
    public var workdayEnd = 18 * 60
    /// An IANA name (`Asia/Tokyo`), or `UTC`.
    public var timezone = "UTC"
    /// How many of the company's seconds pass in one real second (60: an hour a minute).
    public var speed = 1

    public init() {}

    public static let speedRange = 1 ... 3600
    /// The shortest workday that still has a morning, a lunch and an afternoon.
    public static let shortestWorkday = 4 * 60
}

/// Decodes `activity: { workday: "09:00-18:00", timezone: Asia/Tokyo, speed: 1 }` or `activity: true`.
enum ActivityDecoder {
    static let keys = ["workday", "timezone", "speed"]

    static func decode(_ node: YAMLNode, reader: NodeReader, zoneinfo: String = "/usr/share/zoneinfo") -> Located<ActivitySpec>? {
        var spec = ActivitySpec()
        if case .mapping = node.kind {
            guard let fields = reader.fields(node, what: "'activity'", allowed: keys) else { return nil }
            var valid = true
            if let node = fields["workday"], let text = reader.string(node, what: "'workday'") {
                if let (start, end) = workday(text.value) {
                    if end - start >= ActivitySpec.shortestWorkday {
                        (spec.workdayStart, spec.workdayEnd) = (start, end)
                    } else {
                        reader.report(TopologyMessages.workdayTooShort(text.value), at: text.location)
                        valid = false
                    }
                } else {
                    reader.report(TopologyMessages.invalidWorkday(text.value), at: text.location)
                    valid = false
                }
            }
            if let node = fields["timezone"], let text = reader.string(node, what: "'timezone'") {
                if isTimeZone(text.value, zoneinfo: zoneinfo) {
                    spec.timezone = text.value
                } else {
                    reader.report(TopologyMessages.invalidTimezone(text.value), at: text.location)
                    valid = false
                }
            }
            if let node = fields["speed"] {
                if let speed = reader.integer(node, what: "'speed'", range: ActivitySpec.speedRange) { spec.speed = speed.value } else { valid = false }
            }
            return valid ? Located(spec, at: node.location) : nil
        }
        guard let enabled = reader.bool(node, what: "'activity'"), enabled.value else { return nil }
        return Located(spec, at: node.location)
    }

    /// `HH:MM-HH:MM` as minutes after midnight, the end after the start.
    static func workday(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let start = minutes(parts[0]), let end = minutes(parts[1]), start < end else { return nil }
        return (start, end)
    }

    private static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1 ... 2).contains(parts[0].count), parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hours = Int(parts[0]), let minutes = Int(parts[1]), hours < 24, minutes < 60 else { return nil }
        return hours * 60 + minutes
    }

    /// An IANA zone name as the guests' tzdata spells it; where this machine has tzdata, one it has.
    static func isTimeZone(_ name: String, zoneinfo: String) -> Bool {
        if name == "UTC" { return true }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard (2 ... 3).contains(parts.count), name.count <= 64,
              parts.allSatisfy({ part in !part.isEmpty && part.first!.isUppercase
                  && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_+-".contains($0)) } }) else { return false }
        var folder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: zoneinfo, isDirectory: &folder), folder.boolValue else { return true }
        return FileManager.default.fileExists(atPath: zoneinfo + "/" + name, isDirectory: &folder) && !folder.boolValue
    }
}
