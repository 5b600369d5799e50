import Compiler
import Digest
import Foundation
import Hypervisor
import Images
import LibvirtXML
import Naming

/// Warm templates: an image booted once to "ready, no identity yet" and saved, so that the hosts
/// made from it start by restore instead of by boot.
///
/// A template boots with a seed that says `instance-id: decoynet-template`: the image's first-boot
/// agent holds there, before it has taken any identity and with its network still down, and the
/// template's memory and devices are saved (libvirt's save image) beside its disk (an overlay over
/// the image, frozen from then on). A clone is the template's save with the host's own definition
/// written into its header (`SaveImage`), over an overlay of its own on the template's disk, and its
/// own seed on a seed disk of the template's seed's size. Restored, the agent sees the new seed and
/// goes on: the clock from the RTC, a reseeded random pool, its MACs, disks' serials, machine-id,
/// then its hostname, users, files, network and services as at any boot.
///
/// A template is kept in the image store beside the image (`IMAGE/templates/KEY`), keyed by the
/// image's recipe and build and the domain's device layout (everything in its definition but the
/// host's names, addresses, serials and sources) and the seed's size: a changed recipe or layout
/// makes a new one. Built at the first host that needs it, one at a time for each key.
///
/// What clones still share with the template (and so with each other): the SMBIOS tables (the
/// firmware wrote them into memory before the save), the kernel's boot id and uptime. Stealthy
/// hosts always boot.
public actor WarmTemplates {
    public let hypervisor: any Hypervisor
    private var building: [String: Task<Template, any Error>] = [:]
    /// Layouts whose template could not be made in this run: their hosts boot, and say why once.
    private var refused: [String: String] = [:]

    public init(hypervisor: any Hypervisor) {
        self.hypervisor = hypervisor
    }

    /// What `template.json` records.
    public struct Template: Codable, Sendable, Equatable {
        public var key: String
        public var image: String
        public var imageDisk: String
        public var recipeDigest: String
        public var seedBytes: Int
        public var built: Date
        /// From the template's start to its hold.
        public var bootSeconds: Double
        /// This build's files in the template's folder: its disk (clones' overlays name it as
        /// their backing file, so it is never moved, nor removed while the folder is) and its save.
        public var disk: String
        public var seed: String
        public var memory: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A host's device layout and what its template is made of.
    public struct Layout: Sendable {
        public var key: String
        public var image: String
        public var imageFolder: String
        public var imageDisk: String
        public var recipeDigest: String
        public var seedBytes: Int
        /// The host's own definition, as libvirt keeps it.
        public var definition: XMLElement
        public var overlayVolume: String
        public var seedVolume: String

        public var folder: String { WarmTemplates.folder(imageFolder: imageFolder, key: key) }
    }

    public static func folder(imageFolder: String, key: String) -> String { imageFolder + "/templates/" + key }

    /// The MAC a template gives its interface at `index`: a clone's agent knows it by this and sets
    /// its own from its seed's `nicINDEX`.
    public static func templateMAC(_ index: Int) -> String { String(format: "02:de:c0:00:00:%02x", index) }

    /// What a host's start came to.
    public enum Start: Sendable, Equatable {
        /// Restored from its template (`built`: the template was made for it first).
        case cloned(template: String, seconds: Double, built: Bool)
        /// Not cloned: it boots. `reason` says why when it is worth a warning.
        case boot(reason: String?)
    }

    // MARK: - Layout

    /// The layout of a host from its definition, its overlay's base image and its seed's size.
    public static func layout(definition xml: String, imageDisk: String, seedBytes: Int, overlayVolume: String, seedVolume: String) throws -> Layout {
        guard let definition = XMLElement.parse(xml) else { throw Failure(description: "cannot read the host's definition") }
        let imageFolder = (imageDisk as NSString).deletingLastPathComponent
        let store = ImageStore(root: (imageFolder as NSString).deletingLastPathComponent)
        let image = (imageFolder as NSString).lastPathComponent
        guard let manifest = store.manifest(image) else { throw Failure(description: "\(imageFolder) is not a built DecoyNet image (no image.json)") }
        guard manifest.holdsForTemplates == true else { throw Failure(description: "image \(image) was built before warm templates: rebuild it (decoynet image build \(image))") }
        let recipe = manifest.recipeDigest, built = manifest.builtAt
        let sources = definition.child("devices")?.children("disk").compactMap { $0.child("source")?[attribute: "volume"] ?? $0.child("source")?[attribute: "file"] } ?? []
        guard Set(sources) == [overlayVolume, seedVolume] else {
            throw Failure(description: "it has disks besides its overlay and seed")
        }
        let canonical = XMLSerializer.serialize(normalized(definition))
        let key = SHA256.hash("\(recipe)\n\(built)\n\(seedBytes)\n\(canonical)").hexString.prefix(24)
        return Layout(key: String(key), image: image, imageFolder: imageFolder, imageDisk: imageDisk,
                      recipeDigest: recipe, seedBytes: seedBytes, definition: definition, overlayVolume: overlayVolume, seedVolume: seedVolume)
    }

    /// The definition without what makes a host itself: what a template and its clones share.
    static func normalized(_ definition: XMLElement) -> XMLElement {
        var domain = definition
        domain.children.removeAll { ["name", "uuid", "metadata", "title", "description"].contains($0.name) }
        domain.children = domain.children.map { child in
            guard child.name == "sysinfo" else { return child }
            return withoutSerials(child)
        }
        if let index = domain.children.firstIndex(where: { $0.name == "devices" }) {
            domain.children[index].children = domain.children[index].children.map { device in
                var device = device
                switch device.name {
                case "disk":
                    device.attributes.removeAll { $0.name == "type" }
                    device.children.removeAll { ["source", "serial", "vendor", "product", "wwn", "backingStore"].contains($0.name) }
                case "interface":
                    device.children.removeAll { ["mac", "source", "target"].contains($0.name) }
                case "serial", "console", "channel":
                    device.children.removeAll { ["source", "log"].contains($0.name) }
                default: break
                }
                return device
            }
        }
        return domain
    }

    /// SMBIOS without its serial numbers, UUIDs and asset tags.
    private static func withoutSerials(_ element: XMLElement) -> XMLElement {
        var element = element
        element.children = element.children.filter { child in
            !(child.name == "entry" && ["serial", "uuid", "asset"].contains(child[attribute: "name"] ?? ""))
        }.map(withoutSerials)
        return element
    }

    // MARK: - Start

    /// Starts a stopped host by restore from its template, made first when there is none. Boot is
    /// the answer when the host cannot be cloned (`reason` nil when that is by design) or when the
    /// restore failed: the host then has a fresh overlay over its image again.
    public func start(domain: String, metadata: DomainMetadata) async -> Start {
        guard !metadata.stealth else { return .boot(reason: nil) }
        let pool = Naming.pool(environment: metadata.environment)
        let overlayName = Naming.overlay(domain: domain), seedName = Naming.seed(domain: domain)
        let layout: Layout
        do {
            guard let volumes = try? await hypervisor.volumes(pool: pool), volumes.contains(where: { $0.name == overlayName }),
                  let seed = volumes.first(where: { $0.name == seedName }),
                  let backing = Snapshotter.backingPath(try await hypervisor.volumeXML(pool: pool, name: overlayName)) else {
                return .boot(reason: nil)
            }
            let seedBytes = ((try? FileManager.default.attributesOfItem(atPath: seed.path))?[.size] as? NSNumber)?.intValue ?? 0
            guard seedBytes > 0 else { return .boot(reason: nil) }
            layout = try Self.layout(definition: try await hypervisor.domainXML(name: domain), imageDisk: Self.imageDisk(of: backing),
                                     seedBytes: seedBytes, overlayVolume: overlayName, seedVolume: seedName)
        } catch {
            // By design, not worth a warning: an image without a manifest (the test guest), one built
            // before templates (`image list` shows it outdated), a host with disks of its own.
            return .boot(reason: nil)
        }
        if let why = refused[layout.key] { return .boot(reason: why) }
        let begun = Date()
        let built: Bool
        if Self.usable(layout) != nil {
            built = false
        } else {
            do {
                _ = try await made(layout)
                built = true
            } catch {
                let why = "no warm template of \(layout.image): \(error)"
                refused[layout.key] = why
                return .boot(reason: why)
            }
        }
        do {
            try await clone(domain: domain, pool: pool, layout: layout)
            return .cloned(template: layout.image + "/" + layout.key, seconds: Date().timeIntervalSince(begun), built: built)
        } catch {
            if let failure = error as? RestoreFailure {
                // A save that does not restore is of no more use: the next host that needs it makes
                // the template again. Its disk stays: the clones made from it run on it.
                if Self.record(layout.folder)?.memory == failure.memory { try? FileManager.default.removeItem(atPath: layout.folder + "/" + failure.memory) }
                refused[layout.key] = "the warm template of \(layout.image) did not restore"
            }
            if (try? await hypervisor.domainState(name: domain)) ?? .shutoff != .shutoff { try? await hypervisor.stopDomain(name: domain) }
            do {
                try await freshOverlay(pool: pool, name: overlayName, backing: layout.imageDisk)
            } catch {
                return .boot(reason: "the warm template of \(layout.image) did not restore (\(error)), and its overlay could not be made fresh again")
            }
            return .boot(reason: "the warm template of \(layout.image) did not restore (\(error)): it boots")
        }
    }

    /// Before a stopped clone boots from its disk (a restart), an overlay over its image again, not
    /// over the template's held disk.
    public func uncloned(domain: String, metadata: DomainMetadata) async {
        let pool = Naming.pool(environment: metadata.environment), name = Naming.overlay(domain: domain)
        guard let backing = try? await Snapshotter.backingPath(hypervisor.volumeXML(pool: pool, name: name)) else { return }
        let image = Self.imageDisk(of: backing)
        if image != backing { try? await freshOverlay(pool: pool, name: name, backing: image) }
    }

    /// The image under `backing`: itself, or, for a template's disk, the template's image.
    public static func imageDisk(of backing: String) -> String {
        let folder = (backing as NSString).deletingLastPathComponent
        let templates = (folder as NSString).deletingLastPathComponent
        guard templates.hasSuffix("/templates") else { return backing }
        // Gone with an image rebuilt or removed: the image's disk is beside its templates.
        return record(folder)?.imageDisk ?? (templates as NSString).deletingLastPathComponent + "/disk.qcow2"
    }

    static func record(_ folder: String) -> Template? {
        FileManager.default.contents(atPath: folder + "/template.json").flatMap { try? JSONRecords.decoder.decode(Template.self, from: $0) }
    }

    private func freshOverlay(pool: String, name: String, backing: String) async throws {
        let fresh = try Resetter.freshVolume(from: try await hypervisor.volumeXML(pool: pool, name: name), name: name, backing: backing)
        try await hypervisor.deleteVolume(pool: pool, name: name)
        try await hypervisor.createVolume(pool: pool, xml: fresh)
    }

    /// The template of `layout` when it is whole: its record for this key and its two files.
    public static func usable(_ layout: Layout) -> Template? {
        let folder = layout.folder
        guard let record = record(folder), record.key == layout.key, FileManager.default.fileExists(atPath: folder + "/" + record.disk),
              (try? SaveImage.read(folder + "/" + record.memory)) != nil
        else { return nil }
        return record
    }

    /// The template of `layout`, made once however many hosts ask at the same time, and by one
    /// decoynet at a time (another's apply may be making the same one: it is then used).
    private func made(_ layout: Layout) async throws -> Template {
        if let task = building[layout.key] { return try await task.value }
        let task = Task {
            let templates = layout.imageFolder + "/templates"
            try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
            let descriptor = open(templates + "/" + layout.key + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw Failure(description: "cannot open the lock of \(templates)/\(layout.key)") }
            defer { close(descriptor) }
            let deadline = Date().addingTimeInterval(600)
            while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                guard Date() < deadline else { throw Failure(description: "another decoynet has been making this template for 10 minutes") }
                try await Task.sleep(nanoseconds: 500_000_000)
            }
            defer { flock(descriptor, LOCK_UN) }
            if let ready = Self.usable(layout) { return ready }
            return try await self.build(layout)
        }
        building[layout.key] = task
        defer { building[layout.key] = nil }
        return try await task.value
    }

    /// A clone's restore failed: the template's save `memory` is damaged.
    struct RestoreFailure: Error, CustomStringConvertible {
        var memory: String
        var reason: String
        var description: String { reason }
    }

    private func clone(domain: String, pool: String, layout: Layout) async throws {
        guard let record = Self.usable(layout) else { throw Failure(description: "its template is gone") }
        let save = layout.folder + "/clone-\(domain).save"
        defer { try? FileManager.default.removeItem(atPath: save) }
        try SaveImage.copy(layout.folder + "/" + record.memory, to: save, xml: XMLSerializer.serialize(layout.definition))
        try await freshOverlay(pool: pool, name: layout.overlayVolume, backing: layout.folder + "/" + record.disk)
        do {
            try await hypervisor.restoreDomain(from: save)
        } catch {
            throw RestoreFailure(memory: record.memory, reason: "\(error)")
        }
    }

    // MARK: - Build

    /// Boots the template of `layout` to its hold and saves it. Its files are this build's own
    /// (`disk-ID.qcow2`, `seed-ID.iso`, `memory-ID.save`), written in the template's folder, and
    /// `template.json` names them once they are whole; an earlier build's save and seed go then,
    /// its disk stays for the clones made from it.
    private func build(_ layout: Layout) async throws -> Template {
        let fileManager = FileManager.default
        let folder = layout.folder
        let id = String(UUID().uuidString.prefix(8)).lowercased()
        let disk = "disk-\(id).qcow2", seedFile = "seed-\(id).iso", memory = "memory-\(id).save"
        let name = "decoynet-template-" + layout.key.prefix(12)
        let console = "/var/log/libvirt/qemu/\(name)-serial.log"
        try? await hypervisor.removeDomain(name: name)
        try? fileManager.removeItem(atPath: console)
        try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let previous = Self.record(folder)
        do {
            try Snapshotter.run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", layout.imageDisk, folder + "/" + disk])
            var seed = HostSeed.template.isoImage
            guard seed.count <= layout.seedBytes else { throw Failure(description: "its seed disk is smaller than a template's seed") }
            seed += [UInt8](repeating: 0, count: layout.seedBytes - seed.count)
            try Data(seed).write(to: URL(fileURLWithPath: folder + "/" + seedFile))
            let xml = XMLSerializer.serialize(Self.templateDefinition(layout, name: name, disk: folder + "/" + disk, seed: folder + "/" + seedFile, console: console))
            let started = Date()
            try await hypervisor.defineDomain(xml: xml)
            try await hypervisor.startDomain(name: name)
            try await waitForHold(name: name, console: console, deadline: started.addingTimeInterval(300))
            let bootSeconds = Date().timeIntervalSince(started)
            try await hypervisor.saveDomain(name: name, to: folder + "/" + memory)
            try? await hypervisor.removeDomain(name: name)
            let record = Template(key: layout.key, image: layout.image, imageDisk: layout.imageDisk, recipeDigest: layout.recipeDigest,
                                  seedBytes: layout.seedBytes, built: Date(), bootSeconds: bootSeconds, disk: disk, seed: seedFile, memory: memory)
            // Frozen: clones' overlays read it from now on.
            try? fileManager.setAttributes([.posixPermissions: 0o444], ofItemAtPath: folder + "/" + disk)
            try JSONRecords.encoder.encode(record).write(to: URL(fileURLWithPath: folder + "/template.json"), options: .atomic)
            if let previous {
                for file in [previous.memory, previous.seed] {
                    try? fileManager.removeItem(atPath: folder + "/" + file)
                }
            }
            try? fileManager.removeItem(atPath: console)
            return record
        } catch {
            try? await hypervisor.removeDomain(name: name)
            for file in [disk, seedFile, memory] { try? fileManager.removeItem(atPath: folder + "/" + file) }
            try? fileManager.removeItem(atPath: console)
            throw error
        }
    }

    /// The host's definition as a template: its own name and UUID, no DecoyNet metadata (so no
    /// environment counts it as its own), its disks the template's files, its MACs the template's,
    /// its serial numbers made up in the same shape, its console logged apart.
    static func templateDefinition(_ layout: Layout, name: String, disk: String, seed: String, console: String) -> XMLElement {
        var domain = layout.definition
        let digest = SHA256.hash(layout.key).hexString
        let uuid = Array(digest.prefix(32))
        let uuidText = [0 ..< 8, 8 ..< 12, 12 ..< 16, 16 ..< 20, 20 ..< 32].map { String(uuid[$0]) }.joined(separator: "-")
        domain.children.removeAll { ["metadata", "title", "description"].contains($0.name) }
        var interfaceIndex = 0
        domain.children = domain.children.map { child in
            var child = child
            switch child.name {
            case "name": child.text = name
            case "uuid": child.text = uuidText
            case "sysinfo": child = madeUpSerials(child, digest: Array(digest.utf8))
            case "devices":
                child.children = child.children.map { device in
                    var device = device
                    switch device.name {
                    case "disk":
                        let volume = device.child("source")?[attribute: "volume"]
                        let file = volume == layout.overlayVolume ? disk : seed
                        device.attributes = device.attributes.map { $0.name == "type" ? (name: "type", value: "file") : $0 }
                        device.children = device.children.map { $0.name == "source" ? XMLElement("source", attributes: [("file", file)]) : $0 }
                        device.children.removeAll { $0.name == "backingStore" }
                    case "interface":
                        device.children.removeAll { $0.name == "target" }
                        device.children = device.children.map {
                            $0.name == "mac" ? XMLElement("mac", attributes: [("address", templateMAC(interfaceIndex))]) : $0
                        }
                        interfaceIndex += 1
                    case "serial", "console":
                        device.children = device.children.map { $0.name == "log" ? XMLElement("log", attributes: [("file", console), ("append", "off")]) : $0 }
                    case "channel":
                        device.children.removeAll { $0.name == "source" }
                    default: break
                    }
                    return device
                }
            default: break
            }
            return child
        }
        return domain
    }

    /// Serial numbers replaced by others of the same length and kind (digits stay digits, letters
    /// letters), from the template's key: every clone shows these.
    private static func madeUpSerials(_ element: XMLElement, digest: [UInt8]) -> XMLElement {
        var element = element
        if element.name == "entry", element[attribute: "name"] == "serial", let text = element.text {
            let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ"), digits = Array("0123456789")
            element.text = String(text.enumerated().map { index, character -> Character in
                let byte = Int(digest[index % digest.count]) + index
                if character.isNumber { return digits[byte % digits.count] }
                if character.isLetter { return letters[byte % letters.count] }
                return character
            })
        }
        element.children = element.children.map { madeUpSerials($0, digest: digest) }
        return element
    }

    /// Waits for the agent's "holding" line on the template's console.
    private func waitForHold(name: String, console: String, deadline: Date) async throws {
        while Date() < deadline {
            if let text = try? String(contentsOfFile: console, encoding: .utf8), text.contains("decoynet-seed: template ready: holding for a seed") {
                return
            }
            let state = (try? await hypervisor.domainState(name: name)) ?? .unknown
            if state != .running {
                throw Failure(description: "the template stopped (\(state.rawValue)) before it was ready")
            }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        throw Failure(description: "the template was not ready within 300 s (no \"holding for a seed\" on its console; an image built before templates?)")
    }

    /// The templates kept for the image in `imageFolder`.
    public static func templates(imageFolder: String) -> [(record: Template, bytes: UInt64)] {
        let root = imageFolder + "/templates"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        return names.compactMap { key in
            guard let record = record(root + "/" + key) else { return nil }
            let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + key)) ?? []
            let bytes = files.reduce(UInt64(0)) { $0 + Snapshotter.allocatedBytes(root + "/" + key + "/" + $1) }
            return (record, bytes)
        }
    }
}
