/// A plain XML element tree, the neutral form every typed document is written to before libxml2
/// serialises it.
public struct XMLElement: Sendable, Equatable {
    public struct Namespace: Sendable, Equatable {
        public var prefix: String
        public var uri: String

        public init(prefix: String, uri: String) {
            self.prefix = prefix
            self.uri = uri
        }
    }

    public var name: String
    public var namespace: Namespace?
    /// In the order they are written.
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElement]
    public var text: String?

    public init(_ name: String, namespace: Namespace? = nil, attributes: [(String, String)] = [],
                text: String? = nil, children: [XMLElement] = []) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes.map { (name: $0.0, value: $0.1) }
        self.text = text
        self.children = children
    }

    public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool {
        lhs.name == rhs.name && lhs.namespace == rhs.namespace && lhs.text == rhs.text && lhs.children == rhs.children
            && lhs.attributes.map(\.name) == rhs.attributes.map(\.name) && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }
}

/// Builds attribute lists that leave out absent optional values.
@inlinable
public func attributes(_ pairs: (String, String?)...) -> [(String, String)] {
    pairs.compactMap { name, value in value.map { (name, $0) } }
}

/// A libvirt document that can be written as XML.
public protocol LibvirtDocument: Sendable {
    var xmlElement: XMLElement { get }
}

extension LibvirtDocument {
    /// The document as libvirt writes it: no declaration, two-space indentation, final newline.
    public func serialized() -> String {
        XMLSerializer.serialize(xmlElement)
    }
}
