import Diagnostics

/// Typed access to `YAMLNode`s that reports every mistake instead of stopping at the first.
///
/// Each accessor returns `nil` after recording a diagnostic at the offending value, so decoders
/// read as a list of fields and keep going.
final class NodeReader {
    private(set) var diagnostics: [Diagnostic] = []

    func report(_ message: Message, at location: SourceLocation) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    /// A mapping's entries by key, after reporting unknown and non-text keys.
    struct Fields {
        var entries: [String: YAMLPair] = [:]
        var location: SourceLocation

        subscript(key: String) -> YAMLNode? {
            guard let pair = entries[key], !pair.value.isNull || key == "description" else { return nil }
            return pair.value
        }

        func keyLocation(_ key: String) -> SourceLocation? { entries[key]?.key.location }
    }

    func mapping(_ node: YAMLNode, what: String) -> [YAMLPair]? {
        if case let .mapping(pairs) = node.kind { return pairs }
        report(TopologyMessages.wrongType(what, expected: "a mapping", found: node.kindDescription), at: node.location)
        return nil
    }

    /// Reads a mapping with a fixed set of keys: unknown keys get a "did you mean" hint, keys in
    /// `forbidden` get their advice, and `required` keys that are missing are reported at `owner`.
    func fields(_ node: YAMLNode, what: String, allowed: [String], required: [String] = [],
                forbidden: [String: String] = [:], owner: SourceLocation? = nil) -> Fields? {
        guard let pairs = mapping(node, what: what) else { return nil }
        var fields = Fields(location: node.location)
        for pair in pairs {
            guard let key = pair.key.scalar else {
                report(TopologyMessages.keyNotText(what), at: pair.key.location)
                continue
            }
            if let advice = forbidden[key] {
                report(TopologyMessages.keyNotAllowed(key, in: what, advice: advice), at: pair.key.location)
            } else if allowed.contains(key) {
                fields.entries[key] = pair
            } else {
                report(TopologyMessages.unknownKey(key, in: what, hint: Suggestion.hint(for: key, among: allowed)), at: pair.key.location)
            }
        }
        for key in required where fields[key] == nil {
            report(TopologyMessages.missingKey(key, in: what), at: fields.keyLocation(key) ?? owner ?? node.location)
        }
        return fields
    }

    /// A mapping of user-chosen names to values, each name checked against the naming rule.
    func namedEntries(_ node: YAMLNode, what: String, kind: String) -> [(name: Located<String>, value: YAMLNode)]? {
        guard let pairs = mapping(node, what: what) else { return nil }
        var entries: [(Located<String>, YAMLNode)] = []
        for pair in pairs {
            guard let key = pair.key.scalar else {
                report(TopologyMessages.keyNotText(what), at: pair.key.location)
                continue
            }
            if !Language.isValidName(key) {
                report(TopologyMessages.invalidName(key, kind: kind), at: pair.key.location)
            }
            entries.append((Located(key, at: pair.key.location), pair.value))
        }
        return entries
    }

    func list(_ node: YAMLNode, what: String) -> [YAMLNode]? {
        if case let .sequence(items) = node.kind { return items }
        report(TopologyMessages.wrongType(what, expected: "a list", found: node.kindDescription), at: node.location)
        return nil
    }

    func string(_ node: YAMLNode, what: String) -> Located<String>? {
        if case let .scalar(text, _) = node.kind, !node.isNull { return Located(text, at: node.location) }
        report(TopologyMessages.wrongType(what, expected: "a single value", found: node.kindDescription), at: node.location)
        return nil
    }

    func bool(_ node: YAMLNode, what: String) -> Located<Bool>? {
        guard let text = string(node, what: what) else { return nil }
        switch text.value.lowercased() {
        case "true", "yes", "on": return Located(true, at: text.location)
        case "false", "no", "off": return Located(false, at: text.location)
        default:
            report(TopologyMessages.invalidBool(text.value, what: what), at: text.location)
            return nil
        }
    }

    func integer(_ node: YAMLNode, what: String, range: ClosedRange<Int>) -> Located<Int>? {
        guard let text = string(node, what: what) else { return nil }
        let digits = text.value.hasPrefix("+") ? String(text.value.dropFirst()) : text.value
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }),
              digits.dropFirst().allSatisfy({ $0 != "-" }) else {
            report(TopologyMessages.invalidInteger(text.value, what: what), at: text.location)
            return nil
        }
        guard let number = Int(digits), range.contains(number) else {
            report(TopologyMessages.outOfRange(what, value: text.value, range: "\(range.lowerBound) to \(range.upperBound)"), at: text.location)
            return nil
        }
        return Located(number, at: text.location)
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ node: YAMLNode, what: String, as _: Choice.Type) -> Located<Choice>?
        where Choice.RawValue == String {
        guard let text = string(node, what: what) else { return nil }
        if let value = Choice(rawValue: text.value) { return Located(value, at: text.location) }
        report(TopologyMessages.invalidChoice(text.value, what: what, choices: Choice.allCases.map(\.rawValue)), at: text.location)
        return nil
    }

    func address(_ node: YAMLNode, what: String) -> Located<IPv4Address>? {
        guard let text = string(node, what: what) else { return nil }
        if let address = IPv4Address(text.value) { return Located(address, at: text.location) }
        report(TopologyMessages.invalidAddress(text.value), at: text.location)
        return nil
    }

    func mebibytes(_ node: YAMLNode, what: String, plainUnit: String?) -> Located<UInt64>? {
        guard let text = string(node, what: what) else { return nil }
        switch Quantity.mebibytes(text.value, plainUnit: plainUnit) {
        case let .success(value):
            return Located(value, at: text.location)
        case let .failure(.decimalUnit(suggestion)):
            report(TopologyMessages.decimalUnit(text.value, suggestion: suggestion), at: text.location)
        case .failure(.overflow):
            report(TopologyMessages.outOfRange(what, value: text.value, range: "below 16 TiB"), at: text.location)
        case .failure(.syntax):
            report(TopologyMessages.invalidSize(text.value, what: what, plainAllowed: plainUnit != nil), at: text.location)
        }
        return nil
    }

    func seconds(_ node: YAMLNode, what: String) -> Located<Int>? {
        guard let text = string(node, what: what) else { return nil }
        switch Quantity.seconds(text.value) {
        case let .success(value) where value > 0:
            return Located(value, at: text.location)
        default:
            report(TopologyMessages.invalidDuration(text.value), at: text.location)
            return nil
        }
    }
}
