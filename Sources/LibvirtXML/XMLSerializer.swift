import CLibXML2

/// Writes `XMLElement` trees through libxml2, which escapes text and attributes correctly.
public enum XMLSerializer {
    public static func serialize(_ element: XMLElement) -> String {
        LibXML2.initialize()
        guard let doc = xmlNewDoc("1.0") else { fatalError("libxml2 could not allocate a document") }
        defer { xmlFreeDoc(doc) }
        let root = build(element, in: doc, parent: nil)
        xmlDocSetRootElement(doc, root)
        guard let buffer = xmlBufferCreate() else { fatalError("libxml2 could not allocate a buffer") }
        defer { xmlBufferFree(buffer) }
        xmlNodeDump(buffer, doc, root, 0, 1)
        let length = Int(xmlBufferLength(buffer))
        guard let content = xmlBufferContent(buffer) else { return "\n" }
        return String(decoding: UnsafeBufferPointer(start: content, count: length), as: UTF8.self) + "\n"
    }

    /// Builds `element` under `parent`, declaring a namespace only where no ancestor already has.
    private static func build(_ element: XMLElement, in doc: xmlDocPtr, parent: xmlNodePtr?) -> xmlNodePtr {
        guard let node = xmlNewDocNode(doc, nil, element.name, nil) else { fatalError("libxml2 could not allocate a node") }
        if let parent { xmlAddChild(parent, node) }
        if let namespace = element.namespace {
            let inherited = parent.flatMap { xmlSearchNsByHref(doc, $0, namespace.uri) }
            xmlSetNs(node, inherited ?? xmlNewNs(node, namespace.uri, namespace.prefix))
        }
        for attribute in element.attributes {
            xmlNewProp(node, attribute.name, attribute.value)
        }
        if let text = element.text {
            xmlAddChild(node, xmlNewDocText(doc, text))
        }
        for child in element.children {
            _ = build(child, in: doc, parent: node)
        }
        return node
    }
}

/// libxml2's one-time global set-up, which must happen before threads use it.
enum LibXML2 {
    private static let once: Void = { xmlInitParser() }()

    static func initialize() { _ = once }
}
