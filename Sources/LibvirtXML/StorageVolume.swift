/// libvirt's storage volume document (`storagevol.rng`), here always a qcow2 overlay on a base.
public struct StorageVolume: LibvirtDocument, Equatable {
    public var name: String
    /// Virtual size in bytes; absent means the backing file's size (libvirt allows that with a backing store).
    public var capacityBytes: UInt64?
    public var format: String
    public var backingStore: StorageVolumeBackingStore?
    /// The file's mode (`0644`), for a file QEMU reads by path, which libvirt does not relabel.
    public var mode: String?

    public init(name: String, capacityBytes: UInt64?, format: String = "qcow2", backingStore: StorageVolumeBackingStore?) {
        self.name = name
        self.capacityBytes = capacityBytes
        self.format = format
        self.backingStore = backingStore
    }

    public var xmlElement: XMLElement {
        var children = [XMLElement("name", text: name)]
        if let capacityBytes { children.append(XMLElement("capacity", attributes: [("unit", "bytes")], text: String(capacityBytes))) }
        var target = [XMLElement("format", attributes: [("type", format)])]
        if let mode { target.append(XMLElement("permissions", children: [XMLElement("mode", text: mode)])) }
        children.append(XMLElement("target", children: target))
        if let backingStore {
            children.append(XMLElement("backingStore", children: [
                XMLElement("path", text: backingStore.path),
                XMLElement("format", attributes: [("type", backingStore.format)]),
            ]))
        }
        return XMLElement("volume", children: children)
    }
}

public struct StorageVolumeBackingStore: Sendable, Equatable {
    public var path: String
    public var format: String

    public init(path: String, format: String) {
        self.path = path
        self.format = format
    }
}
