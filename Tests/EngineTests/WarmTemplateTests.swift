@testable import Engine
import Foundation
import Hypervisor
import LibvirtXML
import Naming
import TestSupport
import Testing

/// Warm templates' pieces that need no guest: libvirt's save header rewritten for another domain,
/// the layout key (what makes a new template), and the template's own definition.
@Suite struct WarmTemplateTests {
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-templates-" + UUID().uuidString).path

    /// A save image as libvirt 9.0's QEMU driver writes it, with `stream` as QEMU's part.
    static func saveImage(xml: String, cookie: String, room: Int, stream: [UInt8]) -> [UInt8] {
        var bytes = Array("LibvirtQemudSave".utf8)
        func word(_ value: Int) { bytes += withUnsafeBytes(of: UInt32(value).littleEndian, Array.init) }
        let xmlBytes = Array(xml.utf8) + [0], cookieBytes = Array(cookie.utf8) + [0]
        for value in [2, room, 1, 0, xmlBytes.count] { word(value) }
        for _ in 0 ..< 14 { word(0) }
        bytes += xmlBytes + cookieBytes + [UInt8](repeating: 0, count: room - xmlBytes.count - cookieBytes.count)
        return bytes + stream
    }

    @Test func aSaveTakesAnotherDomainsXMLAndKeepsItsStream() throws {
        try FileManager.default.createDirectory(atPath: Self.scratch, withIntermediateDirectories: true)
        let stream = (0 ..< 300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        let source = Self.scratch + "/template.save"
        try Data(Self.saveImage(xml: "<domain><name>template</name></domain>", cookie: "<qemu-save-cookie/>", room: 8192, stream: stream))
            .write(to: URL(fileURLWithPath: source))
        let read = try SaveImage.read(source)
        #expect(read.xml == "<domain><name>template</name></domain>" && read.cookie == "<qemu-save-cookie/>" && read.wasRunning == 1)

        // Another domain's XML in the same room: the stream stays where it was, byte for byte.
        let clone = Self.scratch + "/clone.save"
        try SaveImage.copy(source, to: clone, xml: "<domain><name>acme-ws-001</name></domain>")
        let copied = try SaveImage.read(clone)
        #expect(copied.xml == "<domain><name>acme-ws-001</name></domain>" && copied.cookie == read.cookie && copied.dataLength == 8192)
        let cloneBytes = try #require(FileManager.default.contents(atPath: clone))
        #expect(Array(cloneBytes.suffix(from: Int(copied.streamOffset))) == stream)
        #expect(!FileManager.default.fileExists(atPath: clone + ".partial"))

        // An XML longer than the room: more room, in whole pages, and the stream after it.
        let long = "<domain>" + String(repeating: "<x/>", count: 3000) + "</domain>"
        try SaveImage.copy(source, to: clone, xml: long)
        let grown = try SaveImage.read(clone)
        #expect(grown.xml == long && grown.streamOffset % 4096 == 0 && grown.dataLength > 12000)
        #expect(Array(try #require(FileManager.default.contents(atPath: clone)).suffix(from: Int(grown.streamOffset))) == stream)
    }

    @Test func whatIsNotASaveImageIsRefused() throws {
        try FileManager.default.createDirectory(atPath: Self.scratch, withIntermediateDirectories: true)
        let other = Self.scratch + "/other"
        try Data("QFI\u{FB} not a save".utf8).write(to: URL(fileURLWithPath: other))
        #expect(throws: SaveImage.Failure.self) { try SaveImage.read(other) }
        // A header whose XML runs past the end of the file.
        let cut = Array(Self.saveImage(xml: "<domain/>", cookie: "", room: 4096, stream: []).prefix(200))
        try Data(cut).write(to: URL(fileURLWithPath: other))
        #expect(throws: SaveImage.Failure.self) { try SaveImage.read(other) }
        #expect(throws: SaveImage.Failure.self) { try SaveImage.read(Self.scratch + "/missing") }
    }

    /// An image folder with a manifest, as `decoynet image build` leaves it.
    static func image(_ name: String, recipe: String = "sha256:aa", holds: Bool? = true) throws -> String {
        let folder = scratch + "/" + UUID().uuidString + "/images/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var manifest: [String: Any] = ["name": name, "recipe_digest": recipe, "built_at": "2026-12-02T10:00:00Z", "suite": "bookworm",
                                       "packages": [String](), "disk_bytes": 1, "build_seconds": 1.0]
        if let holds { manifest["holds_for_templates"] = holds }
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: folder + "/image.json"))
        for file in ["disk.qcow2", "vmlinuz", "initrd.img"] { try Data().write(to: URL(fileURLWithPath: folder + "/" + file)) }
        return folder + "/disk.qcow2"
    }

    static func golden(_ host: String) throws -> String {
        try String(contentsOfFile: BuiltBinary.projectRoot + "/Tests/CompilerTests/Golden/enterprise/domains/acme-\(host).xml", encoding: .utf8)
    }

    static func layout(_ xml: String, host: String, disk: String, seedBytes: Int = 1 << 20) throws -> WarmTemplates.Layout {
        try WarmTemplates.layout(definition: xml, imageDisk: disk, seedBytes: seedBytes,
                                 overlayVolume: Naming.overlay(domain: "acme-" + host), seedVolume: Naming.seed(domain: "acme-" + host))
    }

    @Test func hostsOfOneLayoutShareATemplateAndAChangeMakesANewOne() throws {
        let disk = try Self.image("workstation")
        let first = try Self.golden("ws-010")
        let key = try Self.layout(first, host: "ws-010", disk: disk).key
        // Another PC: its own name, UUID, MAC, tap, serials, volumes and metadata; the same layout.
        let other = try Self.golden("ws-016")
        #expect(other != first)
        #expect(try Self.layout(other, host: "ws-016", disk: disk).key == key)

        // More memory, a seed of another size, another build of the image: each a template of its own.
        let bigger = first.replacingOccurrences(of: "<memory unit=\"MiB\">96</memory>", with: "<memory unit=\"MiB\">128</memory>")
        #expect(bigger != first)
        #expect(try Self.layout(bigger, host: "ws-010", disk: disk).key != key)
        #expect(try Self.layout(first, host: "ws-010", disk: disk, seedBytes: 2 << 20).key != key)
        let rebuilt = try Self.image("workstation", recipe: "sha256:bb")
        #expect(try Self.layout(first, host: "ws-010", disk: rebuilt).key != key)

        // An image built before its agent held at a template seed is never cloned.
        let old = try Self.image("old", holds: nil)
        #expect(throws: WarmTemplates.Failure.self) { try Self.layout(first, host: "ws-010", disk: old) }
        // Nor a host with a disk besides its overlay and seed.
        let extra = first.replacingOccurrences(of: "<controller type=\"scsi\"", with: """
            <disk type="volume" device="disk"><source pool="decoynet-acme" volume="data.qcow2"/><target dev="sdb" bus="scsi"/></disk>
            <controller type="scsi"
            """)
        #expect(throws: WarmTemplates.Failure.self) { try Self.layout(extra, host: "ws-010", disk: try Self.image("workstation", recipe: "sha256:aa")) }
    }

    @Test func aTemplateIsTheHostWithoutItsIdentity() throws {
        let disk = try Self.image("workstation", recipe: "sha256:aa")
        let layout = try Self.layout(try Self.golden("ws-010"), host: "ws-010", disk: disk)
        let template = WarmTemplates.templateDefinition(layout, name: "decoynet-template-x", disk: "/t/disk-1.qcow2", seed: "/t/seed-1.iso", console: "/log/x.log")
        #expect(template.child("name")?.text == "decoynet-template-x")
        #expect(template.child("metadata") == nil, "no environment counts a template as its own")
        #expect(template.child("uuid")?.text != layout.definition.child("uuid")?.text)
        let devices = try #require(template.child("devices"))
        #expect(devices.children("disk").map { $0.child("source")?[attribute: "file"] } == ["/t/disk-1.qcow2", "/t/seed-1.iso"])
        #expect(devices.children("disk").allSatisfy { $0[attribute: "type"] == "file" })
        let interface = try #require(devices.child("interface"))
        #expect(interface.child("mac")?[attribute: "address"] == "02:de:c0:00:00:00" && interface.child("target") == nil)
        #expect(devices.child("serial")?.child("log")?[attribute: "file"] == "/log/x.log")
        // Serial numbers of the same shape, not the host's.
        let serial = { (domain: XMLElement) in domain.child("sysinfo")?.child("system")?.children("entry").first { $0[attribute: "name"] == "serial" }?.text }
        let own = try #require(serial(layout.definition)), made = try #require(serial(template))
        #expect(own != made && own.count == made.count && own.map(\.isNumber) == made.map(\.isNumber))
        // The template is of the same layout as the host it was made from.
        #expect(XMLSerializer.serialize(WarmTemplates.normalized(template)) == XMLSerializer.serialize(WarmTemplates.normalized(layout.definition)))
    }
}
