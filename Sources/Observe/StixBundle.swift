import Digest
import Topology
import Foundation

/// A run's contacts with the outside as a STIX 2.1 bundle, for MISP or OpenCTI: the sample as a
/// `file` and a `malware`, every outside `domain-name`, `ipv4-addr` and `url` the run contacted, an
/// `observed-data` per contact and a `communicates-with` relationship from the malware to each.
/// The same run makes the same bytes.
public struct StixBundle: Sendable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var size: Int

        public init(name: String, sha256: String, size: Int) {
            self.name = name
            self.sha256 = sha256
            self.size = size
        }
    }

    public var run: String
    public var sample: Sample
    /// The run's start: every object's creation time.
    public var created: Date
    /// The environment's DNS domain: names under it are the environment's own, not contacts.
    public var domain: String?
    /// Hosts that stand for the outside (the internet host).
    public var outsideHosts: Set<String>
    public var events: [TimelineEvent]

    public init(run: String, sample: Sample, created: Date, domain: String?, outsideHosts: Set<String>, events: [TimelineEvent]) {
        self.run = run
        self.sample = sample
        self.created = created
        self.domain = domain?.lowercased()
        self.outsideHosts = outsideHosts
        self.events = events
    }

    /// From a host of the environment to the outside: a contact, not a mail coming in.
    func reachesOut(_ event: TimelineEvent) -> Bool {
        guard event.outside, let source = event.src?.host, !outsideHosts.contains(source) else { return false }
        return event.dst.map { $0.host == nil || outsideHosts.contains($0.host!) } ?? false
    }

    /// One outside name, address or URL, and when the run contacted it.
    struct Contact {
        var type: String
        var value: String
        var first: Date
        var last: Date
        var count: Int
        /// For a name: the addresses it resolved to, in the order seen.
        var resolvesTo: [String] = []

        var id: String { StixBundle.observableID(type, value) }
    }

    /// The contacts in the order first seen.
    var contacts: [Contact] {
        var found: [String: Contact] = [:]
        var order: [String] = []
        func note(_ type: String, _ value: String, _ time: Date, resolvesTo: [String] = []) {
            let key = type + " " + value
            if found[key] == nil {
                order.append(key)
                found[key] = Contact(type: type, value: value, first: time, last: time, count: 0)
            }
            found[key]!.last = max(found[key]!.last, time)
            found[key]!.count += 1
            for address in resolvesTo where !found[key]!.resolvesTo.contains(address) { found[key]!.resolvesTo.append(address) }
        }
        for event in events {
            switch event.detail {
            case let .dns(query, _, answers, _) where isOutsideName(query):
                let addresses = answers.filter { IPv4Address($0) != nil }
                for address in addresses { note("ipv4-addr", address, event.time) }
                note("domain-name", query.lowercased(), event.time, resolvesTo: addresses)
            case .flow where reachesOut(event):
                if let address = event.dst?.address { note("ipv4-addr", address, event.time) }
            case let .http(_, host, path, _) where reachesOut(event):
                guard let address = event.dst?.address else { break }
                note("url", "http://" + (host ?? address) + path, event.time)
            default:
                break
            }
        }
        return order.map { found[$0]! }
    }

    func isOutsideName(_ name: String) -> Bool {
        let name = name.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        // Reverse lookups name addresses, not places the sample went.
        guard name.contains("."), !name.hasSuffix(".in-addr.arpa"), !name.hasSuffix(".ip6.arpa") else { return false }
        guard let domain else { return true }
        return name != domain && !name.hasSuffix("." + domain)
    }

    public var json: String {
        let stamp = TimelineEvent.timeText(created)
        let dated: [(String, JSONLine.Value)] = [("created", .string(stamp)), ("modified", .string(stamp))]
        func head(_ type: String, _ id: String) -> [(String, JSONLine.Value)] {
            [("type", .string(type)), ("spec_version", .string("2.1")), ("id", .string(id))]
        }
        var objects: [JSONLine.Value] = []
        let file = Self.observableID("file", hashes: sample.sha256)
        objects.append(.object(head("file", file) + [("hashes", .object([("SHA-256", .string(sample.sha256))])),
                                                     ("size", .number(sample.size)), ("name", .string(sample.name))]))
        let malware = objectID("malware", sample.sha256)
        objects.append(.object(head("malware", malware) + dated + [("name", .string(sample.name)), ("is_family", .bool(false)),
                                                                   ("sample_refs", .array([.string(file)]))]))
        for contact in contacts {
            var fields = head(contact.type, contact.id) + [("value", .string(contact.value))]
            if !contact.resolvesTo.isEmpty {
                fields.append(("resolves_to_refs", .array(contact.resolvesTo.map { .string(Self.observableID("ipv4-addr", $0)) })))
            }
            objects.append(.object(fields))
            let observed = objectID("observed-data", contact.id)
            objects.append(.object(head("observed-data", observed) + dated + [
                ("first_observed", .string(TimelineEvent.timeText(contact.first))),
                ("last_observed", .string(TimelineEvent.timeText(contact.last))),
                ("number_observed", .number(contact.count)),
                ("object_refs", .array([.string(contact.id)])),
            ]))
            objects.append(.object(head("relationship", objectID("relationship", contact.id)) + dated + [
                ("relationship_type", .string("communicates-with")), ("source_ref", .string(malware)), ("target_ref", .string(contact.id)),
            ]))
        }
        var line = JSONLine()
        line.field("type", .string("bundle"))
        line.field("id", .string(objectID("bundle", sample.sha256)))
        line.field("objects", .array(objects))
        return line.text + "\n"
    }

    // MARK: - Identifiers

    /// A domain object's id: a UUID from SHA-256 of the run and what it stands for (version 4's shape).
    func objectID(_ type: String, _ key: String) -> String {
        var bytes = Array(SHA256.hash("\(run)\n\(type)\n\(key)").prefix(16))
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        return type + "--" + Self.uuidText(bytes)
    }

    /// A cyber-observable's id as STIX 2.1 prescribes: UUID version 5 in STIX's namespace over the
    /// canonical JSON (RFC 8785) of its identifying properties, `value` for these types.
    static func observableID(_ type: String, _ value: String) -> String {
        var canonical = "{\"value\":"
        JSONLine.quote(value, to: &canonical)
        return uuid5(type, canonical + "}")
    }

    /// A file's id, from its SHA-256.
    static func observableID(_ type: String, hashes sha256: String) -> String {
        var canonical = "{\"hashes\":{\"SHA-256\":"
        JSONLine.quote(sha256, to: &canonical)
        return uuid5(type, canonical + "}}")
    }

    private static func uuid5(_ type: String, _ name: String) -> String {
        let namespace: [UInt8] = [0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7]
        var bytes = Array(SHA1.hash(namespace + Array(name.utf8)).prefix(16))
        bytes[6] = bytes[6] & 0x0f | 0x50
        bytes[8] = bytes[8] & 0x3f | 0x80
        return type + "--" + uuidText(bytes)
    }

    static func uuidText(_ bytes: [UInt8]) -> String {
        let hex = Array(bytes.hexString)
        return [0 ..< 8, 8 ..< 12, 12 ..< 16, 16 ..< 20, 20 ..< 32].map { String(hex[$0]) }.joined(separator: "-")
    }
}
