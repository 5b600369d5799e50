import Diagnostics

/// Decodes the fields shared by hosts, templates and `defaults`.
struct HostFieldsDecoder {
    enum Context {
        case host(name: String)
        case template(name: String)
        case defaults

        var description: String {
            switch self {
            case let .host(name): return "host \(name)"
            case let .template(name): return "template \(name)"
            case .defaults: return "defaults"
            }
        }
    }

    static let hostKeys = ["template", "image", "vcpus", "memory", "disk", "firmware", "interfaces", "services", "health", "count",
                           "hardware", "owner", "files", "stealth"]
    static let imageKeys = ["disk", "format", "kernel", "initrd", "cmdline", "stealth"]
    static let interfaceKeys = ["network", "address", "mac", "model"]

    let reader: NodeReader
    /// The folder relative image paths written here resolve from.
    let baseDirectory: String

    func decode(_ node: YAMLNode, context: Context, owner: SourceLocation) -> HostFields {
        var allowed = Self.hostKeys
        var forbidden: [String: String] = [:]
        var required: [String] = []
        switch context {
        case .host:
            required = ["interfaces"]
        case .template:
            allowed = allowed.filter { $0 != "count" && $0 != "interfaces" && $0 != "template" && $0 != "owner" } + ["extends"]
            forbidden = ["count": "set it on the host", "interfaces": "set them on each host", "template": "use 'extends' to build on another template",
                         "owner": "set it on the host"]
        case .defaults:
            allowed = allowed.filter { $0 != "count" && $0 != "interfaces" && $0 != "owner" }
            forbidden = ["count": "set it on the host", "interfaces": "set them on each host", "owner": "set it on the host"]
        }
        var result = HostFields()
        guard let fields = reader.fields(node, what: context.description, allowed: allowed, required: required, forbidden: forbidden, owner: owner) else {
            return result
        }
        if let node = fields["template"] { result.template = reader.string(node, what: "'template'") }
        if let node = fields["extends"] { result.extends = reader.string(node, what: "'extends'") }
        if let node = fields["image"] { result.image = image(node) }
        if let node = fields["vcpus"] { result.vcpus = reader.integer(node, what: "'vcpus'", range: Language.vcpuRange) }
        if let node = fields["memory"], let memory = reader.mebibytes(node, what: "memory size", plainUnit: "MiB") {
            if Language.memoryRangeMiB.contains(memory.value) {
                result.memoryMiB = memory
            } else {
                reader.report(TopologyMessages.outOfRange("'memory'", value: node.scalar ?? "", range: "64MiB to 1024GiB"), at: memory.location)
            }
        }
        if let node = fields["disk"], let disk = reader.mebibytes(node, what: "disk size", plainUnit: nil) {
            if disk.value > 0 {
                result.diskMiB = disk
            } else {
                reader.report(TopologyMessages.outOfRange("'disk'", value: node.scalar ?? "", range: "at least 1MiB"), at: disk.location)
            }
        }
        if let node = fields["firmware"] { result.firmware = reader.choice(node, what: "firmware", as: Firmware.self) }
        if let node = fields["count"] { result.count = reader.integer(node, what: "'count'", range: Language.countRange) }
        if let node = fields["interfaces"], let items = reader.list(node, what: "'interfaces'") {
            if items.isEmpty { reader.report(TopologyMessages.emptySection("interfaces", needs: "interface"), at: node.location) }
            result.interfaces = Located(items.compactMap(interface), at: node.location)
        }
        if let node = fields["services"], let items = reader.list(node, what: "'services'") {
            result.services = Located(items.compactMap(service), at: node.location)
        }
        if let node = fields["hardware"] { result.hardware = hardware(node) }
        if let node = fields["owner"] { result.owner = reader.string(node, what: "'owner'") }
        if let node = fields["stealth"] { result.stealth = reader.bool(node, what: "'stealth'") }
        if let node = fields["files"], let items = reader.list(node, what: "'files'") {
            result.files = Located(items.compactMap(file), at: node.location)
        }
        if let node = fields["health"], let health = reader.fields(node, what: "'health'", allowed: ["timeout", "probes", "retries"]) {
            if let timeout = health["timeout"] { result.healthTimeout = reader.seconds(timeout, what: "'timeout'") }
            if let retries = health["retries"] { result.healthRetries = reader.integer(retries, what: "'retries'", range: Language.retriesRange) }
            if let probes = health["probes"], let items = reader.list(probes, what: "'probes'") {
                result.healthProbes = Located(items.compactMap(probe), at: probes.location)
            }
        }
        return result
    }

    func image(_ node: YAMLNode) -> Located<ImageReference>? {
        if case .scalar = node.kind, let name = reader.string(node, what: "'image'") {
            return Located(.named(name.value), at: name.location)
        }
        guard let spec = imageSpec(node, what: "inline image") else { return nil }
        return Located(.inline(spec), at: node.location)
    }

    func imageSpec(_ node: YAMLNode, what: String) -> ImageSpec? {
        guard let fields = reader.fields(node, what: what, allowed: Self.imageKeys) else { return nil }
        var spec = ImageSpec(baseDirectory: baseDirectory, location: node.location)
        if let node = fields["disk"] { spec.disk = reader.string(node, what: "'disk'") }
        if let node = fields["format"] { spec.format = reader.choice(node, what: "disk format", as: DiskFormat.self) }
        if let node = fields["kernel"] { spec.kernel = reader.string(node, what: "'kernel'") }
        if let node = fields["initrd"] { spec.initrd = reader.string(node, what: "'initrd'") }
        if let node = fields["cmdline"] { spec.cmdline = reader.string(node, what: "'cmdline'") }
        if let node = fields["stealth"],
           let stealth = reader.fields(node, what: "the image's 'stealth'", allowed: ["kernel", "initrd"], required: ["kernel", "initrd"]) {
            if let node = stealth["kernel"] { spec.stealthKernel = reader.string(node, what: "'kernel'") }
            if let node = stealth["initrd"] { spec.stealthInitrd = reader.string(node, what: "'initrd'") }
        }
        if spec.disk == nil, spec.kernel == nil, fields.entries["disk"] == nil, fields.entries["kernel"] == nil {
            reader.report(TopologyMessages.imageNeedsSource(what), at: node.location)
        }
        if let kernel = spec.kernel, spec.initrd == nil, fields.entries["initrd"] == nil {
            reader.report(TopologyMessages.kernelNeedsInitrd(), at: fields.keyLocation("kernel") ?? kernel.location)
        }
        if spec.kernel == nil, fields.entries["kernel"] == nil {
            for key in ["initrd", "cmdline", "stealth"] {
                if let location = fields.keyLocation(key) { reader.report(TopologyMessages.needsKernel(key), at: location) }
            }
        }
        return spec
    }

    private func interface(_ node: YAMLNode) -> InterfaceSpec? {
        guard let fields = reader.fields(node, what: "interface", allowed: Self.interfaceKeys, required: ["network"]) else { return nil }
        var spec = InterfaceSpec(location: node.location)
        if let node = fields["network"] { spec.network = reader.string(node, what: "'network'") }
        if let node = fields["address"] { spec.address = reader.address(node, what: "'address'") }
        if let node = fields["model"] { spec.model = reader.choice(node, what: "interface model", as: NICModel.self) }
        if let node = fields["mac"], let text = reader.string(node, what: "'mac'") {
            if let mac = MACAddress(text.value.lowercased()) {
                if mac.isMulticast {
                    reader.report(TopologyMessages.multicastMAC(mac), at: text.location)
                } else {
                    spec.mac = Located(mac, at: text.location)
                }
            } else {
                reader.report(TopologyMessages.invalidMAC(text.value), at: text.location)
            }
        }
        return spec
    }

    private func service(_ node: YAMLNode) -> ServiceSpec? {
        if case .scalar = node.kind {
            guard let name = reader.string(node, what: "service") else { return nil }
            if let port = Language.wellKnownServices[name.value] { return ServiceSpec(port: port, name: name.value) }
            reader.report(TopologyMessages.unknownService(name.value), at: name.location)
            return nil
        }
        guard let fields = reader.fields(node, what: "service", allowed: ["port", "name"], required: ["port"]) else { return nil }
        guard let portNode = fields["port"], let port = reader.integer(portNode, what: "'port'", range: Language.portRange) else { return nil }
        let name = fields["name"].flatMap { reader.string($0, what: "'name'") }?.value ?? "port-\(port.value)"
        return ServiceSpec(port: port.value, name: name)
    }

    private func probe(_ node: YAMLNode) -> Located<Probe>? {
        if case .mapping = node.kind {
            guard let fields = reader.fields(node, what: "probe", allowed: ["probe", "expect"], required: ["probe"]),
                  let text = fields["probe"].flatMap({ reader.string($0, what: "'probe'") }) else { return nil }
            let expect = fields["expect"].flatMap { reader.string($0, what: "'expect'") }
            guard let probe = Self.parseProbe(text.value) else {
                reader.report(TopologyMessages.invalidProbe(text.value), at: text.location)
                return nil
            }
            guard let expect else { return Located(probe, at: text.location) }
            guard case let .http(port, path, _) = probe else {
                reader.report(TopologyMessages.expectNeedsHTTP(text.value), at: expect.location)
                return nil
            }
            return Located(.http(port: port, path: path, expect: expect.value), at: text.location)
        }
        guard let text = reader.string(node, what: "probe") else { return nil }
        if let probe = Self.parseProbe(text.value) { return Located(probe, at: text.location) }
        reader.report(TopologyMessages.invalidProbe(text.value), at: text.location)
        return nil
    }

    func hardware(_ node: YAMLNode) -> Located<HardwareVendor>? {
        guard let fields = reader.fields(node, what: "'hardware'", allowed: ["vendor"], required: ["vendor"]),
              let vendor = fields["vendor"] else { return nil }
        return reader.choice(vendor, what: "hardware vendor", as: HardwareVendor.self)
    }

    private func file(_ node: YAMLNode) -> FileSpec? {
        guard let fields = reader.fields(node, what: "file", allowed: ["path", "content", "source"], required: ["path"]),
              let path = fields["path"].flatMap({ reader.string($0, what: "'path'") }) else { return nil }
        if !path.value.hasPrefix("/") { reader.report(TopologyMessages.relativeGuestPath(path.value), at: path.location) }
        let content = fields["content"].flatMap { reader.string($0, what: "'content'") }
        let source = fields["source"].flatMap { reader.string($0, what: "'source'") }
        if (fields.entries["content"] == nil) == (fields.entries["source"] == nil) {
            reader.report(TopologyMessages.fileNeedsContentOrSource(), at: node.location)
        }
        return FileSpec(path: path, content: content, source: source, baseDirectory: baseDirectory, location: node.location)
    }

    static func parseProbe(_ text: String) -> Probe? {
        switch text {
        case "running": return .running
        case "lease": return .lease
        case "agent": return .agent
        default: break
        }
        func port(_ digits: Substring) -> Int? {
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(digits), Language.portRange.contains(port) else { return nil }
            return port
        }
        if let service = ServiceProbe(rawValue: text) { return .service(service) }
        if text.hasPrefix("dns:") {
            let name = text.dropFirst(4)
            guard Language.isValidDomain(String(name)) else { return nil }
            return .dns(name: String(name))
        }
        if text.hasPrefix("tcp:") {
            return port(text.dropFirst(4)).map { .tcp(port: $0) }
        }
        if text.hasPrefix("http:") {
            let rest = text.dropFirst(5)
            let digits = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(digits.count)
            guard let port = port(digits), !path.contains(where: { $0 == " " || $0.isNewline }) else { return nil }
            return .http(port: port, path: path.isEmpty ? "/" : String(path))
        }
        return nil
    }
}
