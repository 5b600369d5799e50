import Diagnostics

/// A YAML node with the place it was written, the raw form every later check reads.
///
/// Yams' own nodes are converted once, so that the rest of the language never sees Yams and the
/// tree is a plain `Sendable` value.
public struct YAMLNode: Sendable {
    public enum Kind: Sendable {
        /// A scalar's text; `plain` is false for quoted and block scalars, which are always strings.
        case scalar(String, plain: Bool)
        case mapping([YAMLPair])
        case sequence([YAMLNode])
    }

    public var kind: Kind
    public var location: SourceLocation

    /// The scalar's text, for scalars only.
    public var scalar: String? {
        if case let .scalar(text, _) = kind { return text }
        return nil
    }

    /// A plain `~`, `null` or empty scalar: YAML's way of writing nothing.
    public var isNull: Bool {
        if case let .scalar(text, plain) = kind, plain {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    public var isEmptyMapping: Bool {
        if case let .mapping(pairs) = kind { return pairs.isEmpty }
        return false
    }

    /// How the node reads in a message: `a mapping`, `a list`, `the text 'x'`.
    public var kindDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar: return isNull ? "nothing" : "a single value"
        }
    }
}

/// One `key: value` entry of a mapping, in file order.
public struct YAMLPair: Sendable {
    public var key: YAMLNode
    public var value: YAMLNode
}
