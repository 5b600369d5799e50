/// How bad a finding is: errors fail the command, warnings do not.
public enum Severity: String, Sendable, Codable, Comparable {
    case error
    case warning

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        lhs == .error && rhs == .warning
    }
}

/// What a stage says about a problem, before it is pinned to a place.
///
/// Each stage declares its messages in one file, as static functions returning a `Message`, so the
/// wording and the stable identifier of every diagnostic can be read (and documented) in one place.
public struct Message: Hashable, Sendable {
    /// A stable identifier (`unknown-key`) that tools and docs can refer to across wording changes.
    public var id: String
    public var severity: Severity
    /// Lowercase, no final period, names quoted as the user wrote them.
    public var text: String

    public init(id: String, severity: Severity = .error, _ text: String) {
        self.id = id
        self.severity = severity
        self.text = text
    }
}
