/// libvirt's storage pool document (`storagepool.rng`): a directory of one environment's overlays.
public struct StoragePool: LibvirtDocument, Equatable {
    public var name: String
    public var uuid: String
    public var path: String

    public init(name: String, uuid: String, path: String) {
        self.name = name
        self.uuid = uuid
        self.path = path
    }

    public var xmlElement: XMLElement {
        XMLElement("pool", attributes: [("type", "dir")], children: [
            XMLElement("name", text: name),
            XMLElement("uuid", text: uuid),
            XMLElement("target", children: [
                XMLElement("path", text: path),
                XMLElement("permissions", children: [XMLElement("mode", text: "0711")]),
            ]),
        ])
    }
}
