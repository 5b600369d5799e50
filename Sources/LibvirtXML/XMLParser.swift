import CLibXML2

extension XMLElement {
    /// Parses a document libvirt returned (a live network, a metadata element) into the neutral
    /// tree; nil when it is not well-formed. Whitespace-only text is dropped.
    public static func parse(_ xml: String) -> XMLElement? {
        LibXML2.initialize()
        let bytes = Array(xml.utf8)
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOBLANKS.rawValue)
        guard let doc = bytes.withUnsafeBufferPointer({ pointer in
            pointer.withMemoryRebound(to: CChar.self) { xmlReadMemory($0.baseAddress, Int32($0.count), "live.xml", nil, options) }
        }) else { return nil }
        defer { xmlFreeDoc(doc) }
        guard let root = xmlDocGetRootElement(doc) else { return nil }
        return convert(root)
    }

    private static func convert(_ node: xmlNodePtr) -> XMLElement {
        let name = String(cString: node.pointee.name)
        var namespace: Namespace?
        if let ns = node.pointee.ns, let href = ns.pointee.href {
            namespace = Namespace(prefix: ns.pointee.prefix.map { String(cString: $0) } ?? "", uri: String(cString: href))
        }
        var attributes: [(String, String)] = []
        var attribute = node.pointee.properties
        while let current = attribute {
            let attributeName = String(cString: current.pointee.name)
            // An attribute's value is the text of its children (entities already resolved).
            var value = ""
            var part = current.pointee.children
            while let text = part {
                if let content = text.pointee.content { value += String(cString: content) }
                part = text.pointee.next
            }
            attributes.append((attributeName, value))
            attribute = current.pointee.next
        }
        var children: [XMLElement] = []
        var text = ""
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE:
                children.append(convert(current))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { text += String(cString: content) }
            default:
                break
            }
            child = current.pointee.next
        }
        let trimmed = text.allSatisfy(\.isWhitespace) ? nil : text
        return XMLElement(name, namespace: namespace, attributes: attributes, text: trimmed, children: children)
    }

    public subscript(attribute name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    public func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }
}
