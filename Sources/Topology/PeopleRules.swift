import Diagnostics
import Foundation

/// Rules of version 2 that span values: unique users, known departments, owners, check hosts and
/// readable file sources.
extension TopologyValidator {
    func checkPeople() {
        var users: [String: SourceLocation] = [:]
        let departments = topology.departments.map(\.value)
        for person in topology.people {
            if users[person.user.value] != nil {
                reader.report(TopologyMessages.duplicateUser(person.user.value), at: person.user.location)
            }
            users[person.user.value] = person.user.location
            if let department = person.department, !departments.isEmpty, !departments.contains(department.value) {
                reader.report(TopologyMessages.unknownDepartment(department.value, hint: Suggestion.hint(for: department.value, among: departments)),
                              at: department.location)
            }
        }
        let people = Personas.all(topology)
        let allUsers = people.map(\.user)
        var hostNames: [String] = []
        var stealthy = Set<String>()
        var owned = false
        for host in topology.hosts {
            let count = host.fields.count?.value ?? 1
            let names = Language.expandedNames(host.name.value, count: count)
            hostNames += names
            let effective = TopologyResolver.effectiveFields(host, in: topology, templates: templates)
            if effective.owner != nil { owned = true }
            if let stealth = effective.stealth, stealth.value {
                stealthy.formUnion(names)
                checkStealth(effective, host: host, stealth: stealth)
            }
            if let owner = host.fields.owner {
                if owner.value == "auto" {
                    if count > people.count { reader.report(TopologyMessages.notEnoughPeople(hosts: count, people: people.count), at: owner.location) }
                } else if !allUsers.contains(owner.value) {
                    reader.report(TopologyMessages.unknownOwner(owner.value, hint: Suggestion.hint(for: owner.value, among: allUsers)), at: owner.location)
                }
            }
            for file in host.fields.files?.value ?? [] { checkSource(file) }
        }
        for template in templates.templates.values {
            for file in template.fields.files?.value ?? [] { checkSource(file) }
        }
        if let activity = topology.activity {
            if people.isEmpty {
                reader.report(TopologyMessages.activityWithoutPeople(), at: activity.location)
            } else if !owned {
                reader.report(TopologyMessages.activityWithoutOwners(), at: activity.location)
            }
        }
        checkPolicy(hostNames: hostNames)
        let knownHosts = Set(hostNames)
        for check in topology.checks {
            var named = [check.from]
            // A check may name an address instead of a host, inside the environment or outside it.
            if case let .reach(to, _, _) = check.kind, IPv4Address(to.value) == nil { named.append(to) }
            for host in named where !knownHosts.contains(host.value) {
                reader.report(TopologyMessages.unknownCheckHost(host.value, hint: Suggestion.hint(for: host.value, among: hostNames)), at: host.location)
            }
            // A check runs inside its `from` host through the guest agent, which a stealthy host has not.
            if stealthy.contains(check.from.value) {
                reader.report(TopologyMessages.checkFromStealthyHost(check.from.value), at: check.from.location)
            }
        }
    }

    /// `from` names a network or `any`; `to` a network, a host or `any`; services are known; the
    /// networks a rule carries traffic for have a gateway (a warning: the file still compiles).
    func checkPolicy(hostNames: [String]) {
        let networks = topology.networks.map(\.name.value)
        let gateways = Dictionary(topology.networks.map { ($0.name.value, $0.gateway != nil) }, uniquingKeysWith: { first, _ in first })
        var warned = Set<String>()
        for rule in topology.policy {
            if rule.from.value != "any", !networks.contains(rule.from.value) {
                reader.report(TopologyMessages.unknownPolicyNetwork(rule.from.value, hint: Suggestion.hint(for: rule.from.value, among: networks)), at: rule.from.location)
            }
            if rule.to.value != "any", !networks.contains(rule.to.value), !hostNames.contains(rule.to.value) {
                reader.report(TopologyMessages.unknownPolicyTarget(rule.to.value, hint: Suggestion.hint(for: rule.to.value, among: networks + hostNames)),
                              at: rule.to.location)
            }
            for service in rule.services where Language.wellKnownServices[service.value] == nil {
                let names = Language.wellKnownServices.keys.sorted()
                reader.report(TopologyMessages.unknownPolicyService(service.value, hint: Suggestion.hint(for: service.value, among: names)), at: service.location)
            }
            for end in [rule.from, rule.to] where gateways[end.value] == false && !warned.contains(end.value) {
                warned.insert(end.value)
                reader.report(TopologyMessages.policyWithoutGateway(end.value), at: end.location)
            }
        }
    }

    /// A `source` is read from the folder of the file that names it, and never from outside it:
    /// a topology from someone else must not copy this machine's files into a guest.
    private func checkSource(_ file: FileSpec) {
        guard let source = file.source else { return }
        let path = TopologyResolver.resolvePath(source.value, from: file.baseDirectory)
        let base = TopologyResolver.resolvePath(".", from: file.baseDirectory)
        guard path.hasPrefix(base == "/" ? "/" : base + "/") else {
            reader.report(TopologyMessages.fileSourceOutside(source.value, folder: file.baseDirectory), at: source.location)
            return
        }
        guard let real = Self.realPath(path) else {
            reader.report(TopologyMessages.unreadableFileSource(source.value), at: source.location)
            return
        }
        let folder = Self.realPath(file.baseDirectory) ?? file.baseDirectory
        if !real.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/") {
            reader.report(TopologyMessages.fileSourceOutside(source.value, folder: file.baseDirectory), at: source.location)
        } else if !Self.isRegularFile(real) || !FileManager.default.isReadableFile(atPath: real) {
            reader.report(TopologyMessages.unreadableFileSource(source.value), at: source.location)
        }
    }

    /// The path with every symbolic link resolved; nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
    }
}
