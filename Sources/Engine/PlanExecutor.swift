import Compiler
import Hypervisor
import LibvirtXML
import Naming
import Planner

/// Turns a plan into the dependency graph that carries it out.
///
/// Teardown runs before build for every object: a domain is removed before the networks it was
/// attached to (except in a destroy, where nothing is rebuilt), and its overlay with it; the pool
/// and networks come before the domains that use them; a replaced object is torn down before it
/// is built again.
public enum PlanExecutor {
    /// `startDomains: false` defines domains without starting them, for the boot scheduler to start
    /// in order and at its pace.
    public static func vertices(for plan: Plan, desired: DesiredState?, hypervisor: any Hypervisor, capture: (any TrafficCapture)? = nil,
                                startDomains: Bool = true) -> [Vertex] {
        var vertices: [Vertex] = []
        let poolName = desired?.poolName ?? Naming.pool(environment: plan.environment)
        let networksByName = Dictionary((desired?.networks ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let domainsByName = Dictionary((desired?.domains ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let ids = Set(plan.actions.filter { $0.kind != .keep }.flatMap { action -> [StepID] in
            switch action.kind {
            case .create, .update, .start: return [up(action)]
            case .replace: return [up(action), down(action)]
            case .delete: return [down(action)]
            case .keep: return []
            }
        })
        let domainTeardowns = plan.actions.filter { $0.resource == .domain && ($0.kind == .replace || $0.kind == .delete) }

        for action in plan.actions where action.kind != .keep {
            let name = action.name
            switch (action.resource, action.kind) {
            case (.pool, .create):
                guard let desired else { continue }
                vertices.append(Vertex(id: up(action), label: "create storage pool \(name)") {
                    try await hypervisor.defineAndStartPool(xml: desired.poolXML)
                })
            case (.pool, .delete):
                let dependencies = domainTeardowns.map(down) + plan.actions.filter { $0.resource == .volume }.map(down)
                vertices.append(Vertex(id: down(action), label: "delete storage pool \(name)", dependencies: dependencies) {
                    try await hypervisor.removePool(name: name)
                })
            case (.network, .delete), (.network, .replace):
                // When everything goes (destroy), a network need not wait for its domains: libvirt
                // stops a domain cleanly after its network is gone, and the teardown takes as long
                // as the slowest QEMU to exit instead of that plus the networks.
                let dependencies = desired == nil ? [] : domainTeardowns.filter { $0.attachedNetworks.contains(name) }.map(down)
                vertices.append(Vertex(id: down(action), label: "\(action.kind == .delete ? "delete" : "stop") network \(name)", dependencies: dependencies) {
                    try await hypervisor.removeNetwork(name: name)
                })
                if action.kind == .replace, let network = networksByName[name] {
                    vertices.append(Vertex(id: up(action), label: "recreate network \(name)", dependencies: [down(action)]) {
                        try await hypervisor.defineAndStartNetwork(xml: network.xml)
                    })
                }
            case (.network, .create):
                guard let network = networksByName[name] else { continue }
                vertices.append(Vertex(id: up(action), label: "create network \(name)") {
                    try await hypervisor.defineAndStartNetwork(xml: network.xml)
                })
            case (.network, .update):
                let changes = action.changes
                vertices.append(Vertex(id: up(action), label: "update network \(name) (\(changes.count) entries)") {
                    for change in changes { try await hypervisor.updateNetwork(name: name, change: change) }
                })
            case (.domain, .delete), (.domain, .replace):
                vertices.append(Vertex(id: down(action), label: "\(action.kind == .delete ? "delete" : "remove old") domain \(name)") {
                    try await hypervisor.removeDomain(name: name)
                    try await hypervisor.deleteVolume(pool: poolName, name: Naming.overlay(domain: name))
                    try await hypervisor.deleteVolume(pool: poolName, name: Naming.seed(domain: name))
                    for type in DocumentRenderer.firmwareTypes { try await hypervisor.deleteVolume(pool: poolName, name: Naming.firmware(domain: name, smbiosType: type)) }
                })
                if action.kind == .replace, let domain = domainsByName[name] {
                    let dependencies = [down(action)] + buildDependencies(of: domain, poolName: poolName, ids: ids)
                    vertices.append(Vertex(id: up(action), label: "recreate domain \(name)", dependencies: dependencies) {
                        try await build(domain, poolName: poolName, hypervisor: hypervisor, start: startDomains)
                    })
                }
            case (.domain, .create):
                guard let domain = domainsByName[name] else { continue }
                vertices.append(Vertex(id: up(action), label: "create domain \(name)", dependencies: buildDependencies(of: domain, poolName: poolName, ids: ids)) {
                    try await build(domain, poolName: poolName, hypervisor: hypervisor, start: startDomains)
                })
            case (.domain, .start):
                guard startDomains, let domain = domainsByName[name] else { continue }
                vertices.append(Vertex(id: up(action), label: "start domain \(name)", dependencies: buildDependencies(of: domain, poolName: poolName, ids: ids)) {
                    try await hypervisor.startDomain(name: name)
                })
            case (.volume, .delete):
                vertices.append(Vertex(id: down(action), label: "delete left-over volume \(name)") {
                    try await hypervisor.deleteVolume(pool: poolName, name: name)
                })
            default:
                continue
            }
        }
        if let capture { vertices += captureVertices(plan: plan, desired: desired, capture: capture, ids: ids) }
        return vertices
    }

    /// Packet captures follow the topology: started on networks with `capture: true` once their
    /// bridge is up (again, after a replace), stopped on the others; on destroy, all stop first.
    private static func captureVertices(plan: Plan, desired: DesiredState?, capture: any TrafficCapture, ids: Set<StepID>) -> [Vertex] {
        let environment = plan.environment
        let running = capture.running(environment: environment)
        guard let desired else {
            return capture.hasState(environment: environment) ? [Vertex(id: StepID(.capture, .down, environment), label: "stop packet captures of \(environment)") {
                try capture.stopAll(environment: environment, deleteFiles: true)
            }] : []
        }
        var vertices: [Vertex] = []
        for network in desired.networks {
            let current = running.first { $0.network == network.network }
            let rebuilt = ids.contains(StepID(.network, .up, network.name))
            if network.capture, current == nil || current?.bridge != network.bridge || rebuilt {
                let dependencies = [StepID(.network, .up, network.name)].filter(ids.contains)
                vertices.append(Vertex(id: StepID(.capture, .up, network.name), label: "start packet capture on network \(network.name)", dependencies: dependencies) {
                    if let current { try capture.stop(current) }
                    _ = try capture.start(environment: environment, network: network.network, bridge: network.bridge)
                })
            } else if !network.capture, let current {
                vertices.append(Vertex(id: StepID(.capture, .down, network.name), label: "stop packet capture on network \(network.name)") {
                    try capture.stop(current)
                })
            }
        }
        return vertices
    }

    static func up(_ action: PlannedAction) -> StepID { StepID(object(action.resource), .up, action.name) }
    static func down(_ action: PlannedAction) -> StepID { StepID(object(action.resource), .down, action.name) }

    private static func object(_ resource: PlannedAction.Resource) -> StepID.Object {
        switch resource {
        case .pool: .pool
        case .network: .network
        case .domain: .domain
        case .volume: .volume
        }
    }

    /// Only steps this plan has: an existing pool or network is no step to wait for.
    private static func buildDependencies(of domain: DesiredState.DomainObject, poolName: String, ids: Set<StepID>) -> [StepID] {
        ([StepID(.pool, .up, poolName)] + domain.networks.map { StepID(.network, .up, $0) }).filter(ids.contains)
    }

    /// A fresh overlay and seed (replacing any left by an interrupted run), the definition, the start.
    private static func build(_ domain: DesiredState.DomainObject, poolName: String, hypervisor: any Hypervisor, start: Bool) async throws {
        if let volume = domain.volume {
            try await hypervisor.deleteVolume(pool: poolName, name: volume.name)
            try await hypervisor.createVolume(pool: poolName, xml: volume.xml)
        }
        // The image is made here, for the hosts being built, not for every host a plan looks at;
        // so are its passwords' hashes (a guest under emulation takes half a second for each).
        let seed = domain.seed
        let image = SeedImage.padded(try await PasswordHash.hashing(seed.seed).isoImage)
        try await hypervisor.deleteVolume(pool: poolName, name: seed.name)
        try await hypervisor.createVolume(pool: poolName, xml: DocumentRenderer.seedVolumeDocument(name: seed.name, bytes: image.count).serialized())
        try await hypervisor.uploadVolume(pool: poolName, name: seed.name, bytes: image)
        for file in domain.firmware {
            try await hypervisor.deleteVolume(pool: poolName, name: file.name)
            try await hypervisor.createVolume(pool: poolName, xml: DocumentRenderer.firmwareVolumeDocument(name: file.name, bytes: file.bytes.count).serialized())
            try await hypervisor.uploadVolume(pool: poolName, name: file.name, bytes: file.bytes)
        }
        try await hypervisor.defineDomain(xml: domain.xml)
        if start { try await hypervisor.startDomain(name: domain.name) }
    }
}
