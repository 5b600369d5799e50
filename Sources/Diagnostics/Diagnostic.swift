/// One problem found in the user's files, at the value (or key) that causes it.
public struct Diagnostic: Hashable, Sendable, Codable {
    public var id: String
    public var severity: Severity
    public var message: String
    public var location: SourceLocation

    public init(_ message: Message, at location: SourceLocation) {
        self.id = message.id
        self.severity = message.severity
        self.message = message.text
        self.location = location
    }

    /// The compilers' one-line format that editors and CI parse.
    public var rendered: String {
        "\(location): \(severity.rawValue): \(message)"
    }
}

extension Diagnostic: Comparable {
    /// Position first, so a file reads top to bottom; ties keep errors before warnings.
    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        if lhs.location != rhs.location { return lhs.location < rhs.location }
        if lhs.severity != rhs.severity { return lhs.severity < rhs.severity }
        return lhs.message < rhs.message
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errorCount: Int { filter { $0.severity == .error }.count }
    public var warningCount: Int { filter { $0.severity == .warning }.count }

    /// Sorted by position with exact repeats removed, as the user should read them.
    public func normalized() -> [Diagnostic] {
        var seen = Set<Diagnostic>()
        return sorted().filter { seen.insert($0).inserted }
    }
}
