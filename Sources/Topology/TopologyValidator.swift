import Diagnostics
import Foundation

/// The rules that span more than one value: references, overlaps, fixed addresses and MACs.
struct TopologyValidator {
    let topology: Topology
    let templates: TemplateLibrary
    let reader: NodeReader
    var images = ImagePolicy()

    func validate() {
        let networks = checkNetworks()
        checkHosts(networks: networks)
        checkGateways(networks: networks)
        checkHostNames()
        checkImageFiles()
        checkFileTotal()
        checkPeople()
    }

    /// Files in all, each host's own or its template's, times its count (hosts and people are
    /// bounded as they are read).
    private func checkFileTotal() {
        var total = 0
        for host in topology.hosts {
            let files = TopologyResolver.effectiveFields(host, in: topology, templates: templates).files?.value.count ?? 0
            total += (host.fields.count?.value ?? 1) * files
            if total > Language.fileLimit {
                reader.report(TopologyMessages.tooMany("files", limit: Language.fileLimit, counting: "counts included", leftOut: false), at: host.name.location)
                return
            }
        }
    }

    private func checkNetworks() -> [String: NetworkSpec] {
        var byName: [String: NetworkSpec] = [:]
        var seen: [NetworkSpec] = []
        for network in topology.networks {
            byName[network.name.value] = network
            guard let cidr = network.cidr else { continue }
            for other in seen {
                if let otherCIDR = other.cidr, cidr.value.overlaps(otherCIDR.value) {
                    reader.report(TopologyMessages.networksOverlap(network.name.value, cidr.value, other: other.name.value, otherCIDR.value), at: cidr.location)
                }
            }
            seen.append(network)
            if let bridge = network.bridgeAddress {
                if !cidr.value.contains(bridge.value) {
                    reader.report(TopologyMessages.bridgeAddressOutside(bridge.value, network: network.name.value, cidr: cidr.value), at: bridge.location)
                } else if let role = Self.reservedRole(bridge.value, in: cidr.value) {
                    reader.report(TopologyMessages.bridgeAddressReserved(bridge.value, role: role), at: bridge.location)
                }
            }
        }
        return byName
    }

    static func reservedRole(_ address: IPv4Address, in cidr: IPv4Network) -> String? {
        if address == cidr.networkAddress { return "network address" }
        if address == cidr.broadcastAddress { return "broadcast address" }
        return nil
    }

    private func checkHosts(networks: [String: NetworkSpec]) {
        var addresses: [String: [IPv4Address: (owner: String, location: SourceLocation)]] = [:]
        var macs: [MACAddress: (owner: String, location: SourceLocation)] = [:]
        let imageNames = topology.images.map(\.name.value)
        for host in topology.hosts {
            let name = host.name.value
            if let template = (host.fields.template ?? topology.defaults.template) {
                if templates[template.value] == nil {
                    reader.report(TopologyMessages.unknownTemplate(template.value, hint: Suggestion.hint(for: template.value, among: templates.templates.keys)), at: template.location)
                    continue
                }
                // A broken chain (cycle, unknown parent) is reported at the template; its hosts would only repeat it.
                if templates.chain(template.value) == nil { continue }
            }
            let fields = TopologyResolver.effectiveFields(host, in: topology, templates: templates)
            let count = fields.count?.value ?? 1
            switch fields.image?.value {
            case nil:
                reader.report(TopologyMessages.hostWithoutImage(name), at: host.name.location)
            case let .named(image)?:
                if !imageNames.contains(image) {
                    reader.report(TopologyMessages.unknownImage(image, hint: Suggestion.hint(for: image, among: imageNames)), at: fields.image!.location)
                }
            case .inline?:
                break
            }
            let interfaces = fields.interfaces?.value ?? []
            var onDHCP = false
            for interface in interfaces {
                guard let networkName = interface.network else { continue }
                guard let network = networks[networkName.value] else {
                    reader.report(TopologyMessages.unknownNetwork(networkName.value, hint: Suggestion.hint(for: networkName.value, among: networks.keys)), at: networkName.location)
                    continue
                }
                if network.dhcp?.value ?? true { onDHCP = true }
                if let mac = interface.mac {
                    if count > 1 {
                        reader.report(TopologyMessages.fixedValueInGroup("mac", host: name, count: count), at: mac.location)
                    } else if let first = macs[mac.value] {
                        reader.report(TopologyMessages.macInUse(mac.value, by: first.owner, at: first.location), at: mac.location)
                    } else {
                        macs[mac.value] = ("host \(name)", mac.location)
                    }
                }
                guard let address = interface.address, let cidr = network.cidr?.value else { continue }
                if count > 1 {
                    reader.report(TopologyMessages.fixedValueInGroup("address", host: name, count: count), at: address.location)
                } else if !cidr.contains(address.value) {
                    reader.report(TopologyMessages.addressOutside(address.value, network: networkName.value, cidr: cidr), at: address.location)
                } else if let role = Self.reservedRole(address.value, in: cidr) {
                    reader.report(TopologyMessages.addressReserved(address.value, role: role, network: networkName.value), at: address.location)
                } else if address.value == network.effectiveBridgeAddress {
                    reader.report(TopologyMessages.addressReserved(address.value, role: "bridge address", network: networkName.value), at: address.location)
                } else if let first = addresses[networkName.value]?[address.value] {
                    reader.report(TopologyMessages.addressInUse(address.value, by: first.owner, at: first.location), at: address.location)
                } else {
                    addresses[networkName.value, default: [:]][address.value] = ("host \(name)", address.location)
                }
            }
            if let probes = fields.healthProbes?.value, !onDHCP, !interfaces.isEmpty {
                for probe in probes where probe.value == .lease {
                    reader.report(TopologyMessages.leaseWithoutDHCP(name), at: probe.location)
                }
            }
        }
    }

    private func checkGateways(networks: [String: NetworkSpec]) {
        let hosts = Dictionary(topology.hosts.map { ($0.name.value, $0) }, uniquingKeysWith: { first, _ in first })
        for network in topology.networks {
            guard let gateway = network.gateway else { continue }
            guard let host = hosts[gateway.value] else {
                reader.report(TopologyMessages.unknownGateway(gateway.value, hint: Suggestion.hint(for: gateway.value, among: hosts.keys)), at: gateway.location)
                continue
            }
            let fields = TopologyResolver.effectiveFields(host, in: topology, templates: templates)
            if let count = fields.count?.value, count > 1 {
                reader.report(TopologyMessages.gatewayIsGroup(gateway.value, count: count), at: gateway.location)
            } else if !(fields.interfaces?.value ?? []).contains(where: { $0.network?.value == network.name.value }) {
                reader.report(TopologyMessages.gatewayNotOnNetwork(gateway.value, network: network.name.value), at: gateway.location)
            }
        }
    }

    /// Names made by `count` must not collide with each other or with declared hosts.
    private func checkHostNames() {
        var declared: [String: SourceLocation] = [:]
        for host in topology.hosts { declared[host.name.value] = host.name.location }
        var made: [String: String] = [:]
        for host in topology.hosts {
            let count = host.fields.count?.value ?? 1
            guard count > 1 else { continue }
            for name in Language.expandedNames(host.name.value, count: count) {
                if let other = declared[name] {
                    reader.report(TopologyMessages.nameCollision(name, group: host.name.value, other: other), at: host.fields.count!.location)
                    break
                }
                if let group = made[name], let other = declared[group] {
                    reader.report(TopologyMessages.nameCollision(name, group: host.name.value, other: other), at: host.fields.count!.location)
                    break
                }
                made[name] = host.name.value
            }
        }
    }

    /// Missing base files are warnings: a topology may be written before its images are built
    /// (errors when the policy requires them, for a deploy). Under a confined policy every file must
    /// be, after symbolic links, inside an allowed folder. Only images that some host boots are
    /// checked, each once.
    private func checkImageFiles() {
        var checked = Set<SourceLocation>()
        let declared = Dictionary(topology.images.map { ($0.name.value, $0.spec) }, uniquingKeysWith: { first, _ in first })
        for host in topology.hosts {
            let spec: ImageSpec
            switch TopologyResolver.effectiveFields(host, in: topology, templates: templates).image?.value {
            case let .inline(inline)?: spec = inline
            case let .named(name)?:
                guard let named = declared[name] else { continue }
                spec = named
            case nil: continue
            }
            guard checked.insert(spec.location).inserted else { continue }
            for path in [spec.disk, spec.kernel, spec.initrd, spec.stealthKernel, spec.stealthInitrd].compactMap({ $0 }) {
                let resolved = TopologyResolver.resolvePath(path.value, from: spec.baseDirectory)
                if let problem = images.problem(resolved) {
                    reader.report(TopologyMessages.imageRefused(path.value, problem, roots: images.allowedRoots ?? []), at: path.location)
                } else if !FileManager.default.fileExists(atPath: resolved) {
                    reader.report(TopologyMessages.imageFileMissing(path.value, required: images.requireFiles), at: path.location)
                }
            }
        }
    }
}
