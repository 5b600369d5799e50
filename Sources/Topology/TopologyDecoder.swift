import Diagnostics
import Foundation

/// Decodes a topology file's YAML into a `Topology`, reporting every shape and value problem.
enum TopologyDecoder {
    static let topLevelKeys = ["name", "description", "domain", "templates", "images", "networks", "defaults", "hosts",
                               "organization", "hardware", "departments", "people", "checks", "policy", "observe", "stealth", "activity"]
    static let networkKeys = ["cidr", "egress", "dhcp", "gateway", "bridge_address", "mtu", "capture", "spoofing"]

    static func decode(_ root: YAMLNode, file: String, directory: String, reader: NodeReader) -> Topology {
        var topology = Topology(file: file, directory: directory)
        guard let fields = reader.fields(root, what: "the topology", allowed: topLevelKeys, required: ["name", "networks", "hosts"]) else {
            return topology
        }
        let hostDecoder = HostFieldsDecoder(reader: reader, baseDirectory: directory)

        if let node = fields["name"], let name = reader.string(node, what: "'name'") {
            if Language.isValidName(name.value, limit: Language.environmentNameLimit) {
                topology.name = name
            } else {
                reader.report(TopologyMessages.invalidEnvironmentName(name.value), at: name.location)
            }
        }
        if let node = fields["description"], !node.isNull {
            topology.description = reader.string(node, what: "'description'")?.value
        }
        if let node = fields["domain"], let domain = reader.string(node, what: "'domain'") {
            if Language.isValidDomain(domain.value) {
                topology.domain = domain
            } else {
                reader.report(TopologyMessages.invalidDomain(domain.value), at: domain.location)
            }
        }
        if let node = fields["organization"] { topology.organization = reader.string(node, what: "'organization'") }
        if let node = fields["hardware"] { topology.hardware = hostDecoder.hardware(node) }
        if let node = fields["stealth"] { topology.stealth = reader.bool(node, what: "'stealth'") }
        if let node = fields["departments"], let items = reader.list(node, what: "'departments'") {
            topology.departments = items.compactMap { reader.string($0, what: "department") }
        }
        if let node = fields["people"], let items = reader.list(node, what: "'people'") {
            var total = 0
            for item in items {
                let before = (people: topology.people.count, generators: topology.peopleGenerators.count)
                PeopleDecoder.decode(item, into: &topology, reader: reader)
                total += (topology.people.count - before.people) + topology.peopleGenerators.dropFirst(before.generators).reduce(0) { $0 + $1.count.value }
                if total > Language.peopleLimit {
                    reader.report(TopologyMessages.tooMany("people", limit: Language.peopleLimit, counting: "generators included"), at: item.location)
                    topology.people.removeSubrange(before.people...)
                    topology.peopleGenerators.removeSubrange(before.generators...)
                    break
                }
            }
        }
        if let node = fields["checks"], let items = reader.list(node, what: "'checks'") {
            if items.count > Language.checkLimit {
                reader.report(TopologyMessages.tooMany("checks", limit: Language.checkLimit, counting: "one an entry"), at: items[Language.checkLimit].location)
            }
            topology.checks = items.prefix(Language.checkLimit).compactMap { PeopleDecoder.check($0, reader: reader) }
        }
        if let node = fields["policy"], let items = reader.list(node, what: "'policy'") {
            topology.policy = items.compactMap { PeopleDecoder.policyRule($0, reader: reader) }
        }
        if let node = fields["observe"] { topology.observe = observe(node, reader: reader) }
        if let node = fields["activity"] { topology.activity = ActivityDecoder.decode(node, reader: reader) }
        if let node = fields["templates"], let items = reader.list(node, what: "'templates'") {
            topology.templatePaths = items.compactMap { reader.string($0, what: "template path") }
        }
        if let node = fields["images"], let entries = reader.namedEntries(node, what: "'images'", kind: "image") {
            for (name, value) in entries {
                if let spec = hostDecoder.imageSpec(value, what: "image \(name.value)") {
                    topology.images.append(ImageDeclaration(name: name, spec: spec))
                }
            }
        }
        if let node = fields["networks"], let entries = reader.namedEntries(node, what: "'networks'", kind: "network") {
            if node.isEmptyMapping { reader.report(TopologyMessages.emptySection("networks", needs: "network"), at: node.location) }
            topology.networks = entries.compactMap { network(name: $0.name, node: $0.value, reader: reader) }
        }
        if let node = fields["defaults"] {
            topology.defaults = hostDecoder.decode(node, context: .defaults, owner: node.location)
        }
        if let node = fields["hosts"], let entries = reader.namedEntries(node, what: "'hosts'", kind: "host") {
            if node.isEmptyMapping { reader.report(TopologyMessages.emptySection("hosts", needs: "host"), at: node.location) }
            var hosts = 0, interfaces = 0
            for (name, value) in entries {
                let fields = hostDecoder.decode(value, context: .host(name: name.value), owner: name.location)
                // Counted as they come: the entry that goes past a limit is reported, and it and
                // the entries after it are left out, so no later stage expands them.
                let count = fields.count?.value ?? 1
                hosts += count
                interfaces += count * (fields.interfaces?.value.count ?? 0)
                if hosts > Language.hostLimit {
                    reader.report(TopologyMessages.tooMany("hosts", limit: Language.hostLimit, counting: "counts included"), at: fields.count?.location ?? name.location)
                    break
                }
                if interfaces > Language.interfaceLimit {
                    reader.report(TopologyMessages.tooMany("interfaces", limit: Language.interfaceLimit, counting: "counts included"),
                                  at: fields.interfaces?.location ?? name.location)
                    break
                }
                topology.hosts.append(HostSpec(name: name, fields: fields, location: value.location))
            }
        }
        return topology
    }

    /// `true`, `false`, or `{ keep: SIZE }` (watched, keeping at most SIZE of captures and timeline).
    private static func observe(_ node: YAMLNode, reader: NodeReader) -> Located<ObserveSpec>? {
        if case .mapping = node.kind {
            guard let fields = reader.fields(node, what: "'observe'", allowed: ["keep"], required: ["keep"]),
                  let keep = fields["keep"].flatMap({ reader.mebibytes($0, what: "'keep'", plainUnit: nil) }) else { return nil }
            guard keep.value >= 64 else {
                reader.report(TopologyMessages.outOfRange("'keep'", value: "\(keep.value)MiB", range: "64MiB or more"), at: keep.location)
                return nil
            }
            return Located(ObserveSpec(enabled: true, keepMiB: keep.value), at: node.location)
        }
        return reader.bool(node, what: "'observe'").map { Located(ObserveSpec(enabled: $0.value), at: $0.location) }
    }

    private static func network(name: Located<String>, node: YAMLNode, reader: NodeReader) -> NetworkSpec? {
        guard let fields = reader.fields(node, what: "network \(name.value)", allowed: networkKeys, required: ["cidr"], owner: name.location) else {
            return nil
        }
        var spec = NetworkSpec(name: name, location: node.location)
        if let node = fields["cidr"], let text = reader.string(node, what: "'cidr'") {
            switch IPv4Network.parse(text.value) {
            case let .success(network):
                if Language.prefixRange.contains(network.prefixLength) {
                    spec.cidr = Located(network, at: text.location)
                } else {
                    reader.report(TopologyMessages.prefixOutOfRange(network), at: text.location)
                }
            case let .failure(.notNetworkAddress(network)):
                reader.report(TopologyMessages.cidrHostBits(text.value, network: network), at: text.location)
            case .failure(.syntax):
                reader.report(TopologyMessages.invalidCIDR(text.value), at: text.location)
            }
        }
        if let node = fields["egress"] { spec.egress = reader.choice(node, what: "egress", as: Egress.self) }
        if let node = fields["dhcp"] { spec.dhcp = reader.bool(node, what: "'dhcp'") }
        if let node = fields["gateway"] { spec.gateway = reader.string(node, what: "'gateway'") }
        if let node = fields["bridge_address"] { spec.bridgeAddress = reader.address(node, what: "'bridge_address'") }
        if let node = fields["mtu"] { spec.mtu = reader.integer(node, what: "'mtu'", range: Language.mtuRange) }
        if let node = fields["capture"] { spec.capture = reader.bool(node, what: "'capture'") }
        if let node = fields["spoofing"] { spec.spoofing = reader.choice(node, what: "spoofing", as: Spoofing.self) }
        return spec
    }
}
