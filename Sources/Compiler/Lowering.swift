import Diagnostics
import Foundation
import Naming
import Topology

/// Expands a valid `Topology` into a `ResolvedEnvironment`: precedence applied, counts expanded,
/// addresses allocated (fixed ones reserved first, then the lowest free in file order), and every
/// MAC, UUID and bridge name derived.
struct Lowering {
    let topology: Topology
    let templates: TemplateLibrary
    var diagnostics: [Diagnostic] = []

    init(topology: Topology, templates: TemplateLibrary) {
        self.topology = topology
        self.templates = templates
    }

    /// One interface of one expanded host, waiting for its address and MAC.
    private struct PendingInterface {
        var spec: InterfaceSpec
        var network: String
        var address: IPv4Address?
    }

    private struct PendingHost {
        var name: String
        var group: String
        var fields: HostFields
        var interfaces: [PendingInterface]
        var location: SourceLocation
    }

    mutating func lower() -> ResolvedEnvironment? {
        guard let environment = topology.name?.value else { return nil }
        var pending: [PendingHost] = []
        var groups: [HostGroup] = []
        for host in topology.hosts {
            let fields = TopologyResolver.effectiveFields(host, in: topology, templates: templates)
            let count = fields.count?.value ?? 1
            let interfaces = (fields.interfaces?.value ?? []).compactMap { spec in
                spec.network.map { PendingInterface(spec: spec, network: $0.value, address: spec.address?.value) }
            }
            groups.append(HostGroup(name: host.name.value, count: count, template: fields.template?.value,
                                    interfaces: interfaces.map { ($0.network, count == 1 ? $0.address : nil) }))
            for name in Language.expandedNames(host.name.value, count: count) {
                pending.append(PendingHost(name: name, group: host.name.value, fields: fields, interfaces: interfaces, location: host.name.location))
            }
        }

        allocateAddresses(&pending)
        let internetHost = internetRules(pending)
        if diagnostics.hasErrors { return nil }
        let observed = topology.observe?.value.enabled == true || internetHost != nil

        var bridges = Set<String>()
        var networks: [ResolvedNetwork] = []
        for spec in topology.networks {
            guard let cidr = spec.cidr?.value else { continue }
            let name = spec.name.value
            var gatewayAddress: IPv4Address?
            if let gateway = spec.gateway?.value {
                gatewayAddress = pending.first { $0.name == gateway }?.interfaces.first { $0.network == name }?.address
            }
            networks.append(ResolvedNetwork(
                name: name,
                libvirtName: Naming.object(environment: environment, name: name),
                uuid: Identifiers.networkUUID(environment: environment, network: name),
                bridge: Identifiers.bridge("\(environment)/\(name)", avoiding: &bridges),
                cidr: cidr,
                bridgeAddress: spec.effectiveBridgeAddress ?? cidr.firstUsable,
                egress: spec.egress?.value ?? .isolated,
                dhcp: spec.dhcp?.value ?? true,
                gateway: spec.gateway?.value,
                gatewayAddress: gatewayAddress,
                mtu: spec.mtu?.value ?? 1500,
                // A watched environment is captured on every network.
                capture: observed || spec.capture?.value == true,
                spoofing: spec.spoofing?.value ?? .deny
            ))
        }
        let dhcpNetworks = Set(networks.filter(\.dhcp).map(\.name))

        var macs = Set(pending.flatMap { $0.interfaces.compactMap { $0.spec.mac?.value } })
        var images: [String: ImageSpec] = [:]
        for declaration in topology.images { images[declaration.name.value] = declaration.spec }
        var baseSizes: [String: UInt64?] = [:]

        let people = Personas.all(topology).map { person in
            var person = person
            if person.password == nil { person.password = Identifiers.password(environment: environment, user: person.user) }
            return person
        }
        var ownerIndex: [String: Int] = [:]
        var fileCache: [String: [UInt8]] = [:]

        var hosts: [ResolvedHost] = []
        hosts.reserveCapacity(pending.count)
        var taps = Set<String>()
        for host in pending {
            let fields = host.fields
            guard var image = resolveImage(fields.image, images: images) else { continue }
            let hardware = fields.hardware?.value ?? .qemu
            let oui = HardwareProfile.profile(hardware).oui
            let stealth = fields.stealth?.value ?? false
            if stealth, image.kernel != nil {
                // The validator has said so when the image gives no kernel for a stealthy host.
                image.kernel = image.stealthKernel ?? image.kernel
                image.initrd = image.stealthInitrd ?? image.initrd
            }
            // A stealthy host's card is a real vendor's: Intel's 82574L, which QEMU emulates as e1000e.
            let defaultModel: NICModel = stealth ? .e1000e : .virtio
            var interfaces: [ResolvedInterface] = []
            for (index, interface) in host.interfaces.enumerated() {
                guard let address = interface.address else { continue }
                let mac = interface.spec.mac?.value ?? Identifiers.mac("\(environment)/\(host.name)/\(index)", oui: oui, avoiding: &macs)
                let tap = Identifiers.tap("\(environment)/\(host.name)/\(index)", avoiding: &taps)
                interfaces.append(ResolvedInterface(network: interface.network, address: address, mac: mac, model: interface.spec.model?.value ?? defaultModel, tap: tap))
            }
            let services = fields.services?.value ?? []
            var probes = fields.healthProbes?.value.map(\.value) ?? defaultProbes(host: host.name, interfaces: interfaces, services: services, dhcpNetworks: dhcpNetworks,
                                                                                         runsChecks: !stealth && topology.checks.contains { $0.from.value == host.name })
            probes = probes.reduce(into: []) { unique, probe in if !unique.contains(probe) { unique.append(probe) } }
            var diskBytes = fields.diskMiB.map { $0.value << 20 }
            if let disk = image.disk, let diskMiB = fields.diskMiB {
                if baseSizes[disk] == nil { baseSizes[disk] = Self.virtualSize(path: disk, format: image.format) }
                if let base = baseSizes[disk] ?? nil, diskMiB.value << 20 < base {
                    diagnostics.append(Diagnostic(CompilerMessages.diskSmallerThanBase(diskMiB.value << 20, base: base), at: diskMiB.location))
                }
            }
            if image.disk == nil { diskBytes = nil }
            var resolved = ResolvedHost(
                name: host.name,
                group: host.group,
                libvirtName: Naming.object(environment: environment, name: host.name),
                uuid: Identifiers.uuid("\(environment)/domain/\(host.name)"),
                template: fields.template?.value,
                image: image,
                vcpus: fields.vcpus?.value ?? 1,
                // Debian's generic kernel, which a stealthy host boots, keeps 20 MiB more to itself.
                memoryMiB: max(fields.memoryMiB?.value ?? 512, stealth ? Language.stealthMemoryMiB : 0),
                diskBytes: diskBytes,
                firmware: fields.firmware?.value ?? .bios,
                interfaces: interfaces,
                services: services,
                healthTimeoutSeconds: fields.healthTimeout?.value ?? Language.defaultHealthTimeout,
                probes: probes,
                volumeName: image.disk == nil ? nil : Naming.overlay(domain: Naming.object(environment: environment, name: host.name))
            )
            resolved.hardware = hardware
            resolved.stealth = stealth
            resolved.healthRetries = fields.healthRetries?.value ?? Language.defaultHealthRetries
            if DomainNames.isDomainController(services: services) {
                if let problem = DomainNames.problem(domain: topology.domain?.value, controller: host.name) {
                    diagnostics.append(Diagnostic(problem, at: topology.domain?.location ?? host.location))
                }
            }
            if let owner = fields.owner?.value {
                if owner == "auto" {
                    let index = ownerIndex[host.group, default: 0]
                    ownerIndex[host.group] = index + 1
                    resolved.owner = index < people.count ? people[index] : nil
                } else {
                    resolved.owner = people.first { $0.user == owner }
                }
            }
            resolved.files = (fields.files?.value ?? []).map { resolveFile($0, host: resolved, cache: &fileCache) }
            hosts.append(resolved)
        }
        if diagnostics.hasErrors { return nil }
        return ResolvedEnvironment(
            name: environment,
            description: topology.description,
            domain: topology.domain?.value,
            poolName: Naming.pool(environment: environment),
            networks: networks,
            hosts: hosts,
            groups: groups,
            instanceOf: nil,
            organization: topology.organization?.value,
            people: people,
            checks: topology.checks.map(Self.resolveCheck),
            policy: topology.policy.map(Self.resolvePolicy),
            observeBytes: observed ? (topology.observe?.value.keepMiB ?? ObserveSpec.defaultKeepMiB) << 20 : nil,
            internetHost: internetHost,
            activity: topology.activity?.value
        )
    }

    /// The environment's internet: at most one host of template `internet` (through `extends` too),
    /// on a network with a gateway, which routes the other networks to it.
    private mutating func internetRules(_ hosts: [PendingHost]) -> String? {
        let gateways = Dictionary(topology.networks.map { ($0.name.value, $0.gateway != nil) }, uniquingKeysWith: { first, _ in first })
        var first: String?
        for host in hosts {
            guard let template = host.fields.template, templates.chain(template.value)?.contains(where: { $0.name.value == "internet" }) == true
            else { continue }
            if let first {
                diagnostics.append(Diagnostic(CompilerMessages.internetHostTwice(host.name, first: first), at: host.location))
                continue
            }
            first = host.name
            // The simulated internet works through its guest agent: it mails samples and its logs are read.
            if let stealth = host.fields.stealth, stealth.value {
                diagnostics.append(Diagnostic(CompilerMessages.stealthyInternet(host.name), at: stealth.location))
            }
            for interface in host.interfaces where gateways[interface.network] == false {
                diagnostics.append(Diagnostic(CompilerMessages.internetWithoutGateway(host.name, network: interface.network),
                                              at: interface.spec.network?.location ?? host.location))
            }
        }
        return first
    }

    /// Services as the ports they open; a name that also answers on UDP opens both.
    static func resolvePolicy(_ rule: PolicyRuleSpec) -> ResolvedPolicyRule {
        var tcp = Set<Int>()
        var udp = Set<Int>()
        for service in rule.services {
            guard let port = Language.wellKnownServices[service.value] else { continue }
            tcp.insert(port)
            if Language.udpServices.contains(service.value) { udp.insert(port) }
        }
        for port in rule.ports {
            switch port.value.transport {
            case .tcp: tcp.insert(port.value.port)
            case .udp: udp.insert(port.value.port)
            }
        }
        let what = (rule.services.map(\.value) + rule.ports.map(\.value.description)).joined(separator: ", ")
        return ResolvedPolicyRule(from: rule.from.value == "any" ? nil : rule.from.value, to: rule.to.value == "any" ? nil : rule.to.value,
                                  tcp: tcp.sorted(), udp: udp.sorted(),
                                  label: "\(rule.from.value) -> \(rule.to.value): \(what.isEmpty ? "everything" : what)")
    }

    /// `{organization}`, `{host}`, `{owner}`, `{owner_name}` replaced in literal contents; sources
    /// are read once each and copied as they are.
    private func resolveFile(_ file: FileSpec, host: ResolvedHost, cache: inout [String: [UInt8]]) -> ResolvedFile {
        let owner = host.owner?.user
        func substituted(_ text: String) -> String {
            text.replacingOccurrences(of: "{organization}", with: topology.organization?.value ?? topology.name?.value ?? "")
                .replacingOccurrences(of: "{host}", with: host.name)
                .replacingOccurrences(of: "{owner_name}", with: host.owner?.name ?? "")
                .replacingOccurrences(of: "{owner}", with: owner ?? "")
        }
        let path = substituted(file.path.value)
        var contents: [UInt8] = []
        if let content = file.content?.value {
            contents = Array(substituted(content).utf8)
        } else if let source = file.source?.value {
            let sourcePath = TopologyResolver.resolvePath(source, from: file.baseDirectory)
            if let cached = cache[sourcePath] {
                contents = cached
            } else {
                contents = FileManager.default.contents(atPath: sourcePath).map { Array($0) } ?? []
                cache[sourcePath] = contents
            }
        }
        let inHome = owner.map { path.hasPrefix("/home/\($0)/") } ?? false
        return ResolvedFile(path: path, contents: contents, owner: inHome ? owner : nil, mode: "0644")
    }

    static func resolveCheck(_ check: CheckSpec) -> ResolvedCheck {
        switch check.kind {
        case let .reach(to, port, open):
            return ResolvedCheck(from: check.from.value, to: to.value, port: port.value, open: open)
        case let .resolve(name, expect):
            return ResolvedCheck(from: check.from.value, name: name.value, address: expect.value)
        }
    }

    /// Fixed addresses first, wherever they are written; then the lowest free address, in file order.
    private mutating func allocateAddresses(_ hosts: inout [PendingHost]) {
        struct Pool {
            var cidr: IPv4Network
            var taken: Set<UInt32>
            var next: UInt32
            var exhausted = false

            /// The lowest free address, which is never below `next`: allocation runs in file order.
            mutating func allocate() -> IPv4Address? {
                while next <= cidr.lastUsable.value, taken.contains(next) { next += 1 }
                guard next <= cidr.lastUsable.value else {
                    exhausted = true
                    return nil
                }
                taken.insert(next)
                return IPv4Address(next)
            }
        }
        var pools: [String: Pool] = [:]
        for network in topology.networks {
            guard let cidr = network.cidr?.value else { continue }
            let bridge = network.effectiveBridgeAddress ?? cidr.firstUsable
            pools[network.name.value] = Pool(cidr: cidr, taken: [bridge.value], next: cidr.firstUsable.value)
        }
        for host in hosts {
            for interface in host.interfaces {
                if let address = interface.address { pools[interface.network]?.taken.insert(address.value) }
            }
        }
        for hostIndex in hosts.indices {
            for interfaceIndex in hosts[hostIndex].interfaces.indices where hosts[hostIndex].interfaces[interfaceIndex].address == nil {
                let network = hosts[hostIndex].interfaces[interfaceIndex].network
                // Mutated in place: a copy of the pool would copy its set of taken addresses each time.
                guard pools[network]?.exhausted == false else { continue }
                guard let address = pools[network]!.allocate() else {
                    let location = hosts[hostIndex].interfaces[interfaceIndex].spec.location
                    diagnostics.append(Diagnostic(CompilerMessages.addressesExhausted(network: network, cidr: pools[network]!.cidr, host: hosts[hostIndex].name), at: location))
                    continue
                }
                hosts[hostIndex].interfaces[interfaceIndex].address = address
            }
        }
    }

    private func resolveImage(_ reference: Located<ImageReference>?, images: [String: ImageSpec]) -> ResolvedImage? {
        let spec: ImageSpec
        let name: String?
        switch reference?.value {
        case let .named(imageName)?:
            guard let declared = images[imageName] else { return nil }
            (spec, name) = (declared, imageName)
        case let .inline(inline)?:
            (spec, name) = (inline, nil)
        case nil:
            return nil
        }
        func path(_ value: Located<String>?) -> String? {
            value.map { TopologyResolver.resolvePath($0.value, from: spec.baseDirectory) }
        }
        return ResolvedImage(name: name, disk: path(spec.disk), format: spec.format?.value ?? .qcow2,
                             kernel: path(spec.kernel), initrd: path(spec.initrd), cmdline: spec.cmdline?.value,
                             stealthKernel: path(spec.stealthKernel), stealthInitrd: path(spec.stealthInitrd))
    }

    /// `running`, `lease` when any interface is on a DHCP network, `agent` when operation tests run
    /// from the host (through its guest agent), and per service its protocol
    /// probe where one exists (`http` -> `http:80/`, `dns` -> `dns:` the host's own name in the
    /// environment's domain, `tcp:53` without a domain), else `tcp:PORT`.
    private func defaultProbes(host: String, interfaces: [ResolvedInterface], services: [ServiceSpec], dhcpNetworks: Set<String>,
                               runsChecks: Bool) -> [Probe] {
        var probes: [Probe] = [.running]
        if interfaces.contains(where: { dhcpNetworks.contains($0.network) }) { probes.append(.lease) }
        if runsChecks { probes.append(.agent) }
        probes += services.map { service in
            if service.name == "http", service.port == 80 { return .http(port: 80, path: "/") }
            // A DNS server answers for the environment's domain; without one it has no name to serve.
            if service.name == "dns", service.port == 53 {
                return topology.domain.map { .dns(name: host + "." + $0.value) } ?? .tcp(port: 53)
            }
            if let protocolProbe = ServiceProbe(rawValue: service.name), protocolProbe.port == service.port { return .service(protocolProbe) }
            return .tcp(port: service.port)
        }
        return probes
    }

    /// The base image's virtual size: qcow2's header field, or a raw file's length; nil when unknown.
    static func virtualSize(path: String, format: DiskFormat) -> UInt64? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        switch format {
        case .raw:
            return (try? handle.seekToEnd()).map { UInt64($0) }
        case .qcow2:
            guard let header = try? handle.read(upToCount: 32), header.count == 32,
                  header.prefix(4) == Data([0x51, 0x46, 0x49, 0xFB]) else { return nil }
            return header[24 ..< 32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }
}
