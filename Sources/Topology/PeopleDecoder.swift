import Diagnostics

/// Decodes `people` entries and `checks`, the parts of version 2 that name users and hosts.
enum PeopleDecoder {
    static func decode(_ node: YAMLNode, into topology: inout Topology, reader: NodeReader) {
        guard case let .mapping(pairs) = node.kind else {
            _ = reader.mapping(node, what: "person")
            return
        }
        if pairs.contains(where: { $0.key.scalar == "generate" }) {
            guard let fields = reader.fields(node, what: "people generator", allowed: ["generate", "seed"], required: ["generate"]),
                  let count = fields["generate"].flatMap({ reader.integer($0, what: "'generate'", range: 1 ... 10000) }) else { return }
            let seed = fields["seed"].flatMap { reader.integer($0, what: "'seed'", range: 0 ... Int(Int32.max)) }?.value ?? 1
            topology.peopleGenerators.append(PeopleGenerator(count: count, seed: seed))
            return
        }
        guard let fields = reader.fields(node, what: "person", allowed: ["user", "name", "department", "title", "password"], required: ["user"]),
              let user = fields["user"].flatMap({ reader.string($0, what: "'user'") }) else { return }
        guard Personas.isValidUser(user.value) else {
            reader.report(TopologyMessages.invalidUser(user.value), at: user.location)
            return
        }
        topology.people.append(PersonSpec(
            user: user,
            name: fields["name"].flatMap { reader.string($0, what: "'name'") },
            department: fields["department"].flatMap { reader.string($0, what: "'department'") },
            title: fields["title"].flatMap { reader.string($0, what: "'title'") },
            password: fields["password"].flatMap { reader.string($0, what: "'password'") }
        ))
    }

    static func check(_ node: YAMLNode, reader: NodeReader) -> CheckSpec? {
        guard let fields = reader.fields(node, what: "check", allowed: ["from", "to", "port", "resolve", "expect"], required: ["from", "expect"]),
              let from = fields["from"].flatMap({ reader.string($0, what: "'from'") }),
              let expect = fields["expect"].flatMap({ reader.string($0, what: "'expect'") }) else { return nil }
        if let resolve = fields["resolve"].flatMap({ reader.string($0, what: "'resolve'") }), fields["to"] == nil, fields["port"] == nil {
            guard IPv4Address(expect.value) != nil else {
                reader.report(TopologyMessages.invalidAddress(expect.value), at: expect.location)
                return nil
            }
            return CheckSpec(from: from, kind: .resolve(name: resolve, expect: expect), location: node.location)
        }
        guard fields["resolve"] == nil, let to = fields["to"].flatMap({ reader.string($0, what: "'to'") }),
              let port = fields["port"].flatMap({ reader.integer($0, what: "'port'", range: Language.portRange) }) else {
            reader.report(TopologyMessages.invalidCheck(), at: node.location)
            return nil
        }
        switch expect.value {
        case "open": return CheckSpec(from: from, kind: .reach(to: to, port: port, open: true), location: node.location)
        case "closed": return CheckSpec(from: from, kind: .reach(to: to, port: port, open: false), location: node.location)
        default:
            reader.report(TopologyMessages.invalidChoice(expect.value, what: "check 'expect'", choices: ["open", "closed"]), at: expect.location)
            return nil
        }
    }

    /// `{from, to, services?, ports?}`; a port is `N` (TCP), `tcp/N` or `udp/N`.
    static func policyRule(_ node: YAMLNode, reader: NodeReader) -> PolicyRuleSpec? {
        guard let fields = reader.fields(node, what: "policy rule", allowed: ["from", "to", "services", "ports"], required: ["from", "to"]),
              let from = fields["from"].flatMap({ reader.string($0, what: "'from'") }),
              let to = fields["to"].flatMap({ reader.string($0, what: "'to'") }) else { return nil }
        var services: [Located<String>] = []
        if let node = fields["services"], let items = reader.list(node, what: "'services'") {
            services = items.compactMap { reader.string($0, what: "service") }
        }
        var ports: [Located<PolicyPort>] = []
        if let node = fields["ports"], let items = reader.list(node, what: "'ports'") {
            for item in items {
                guard let text = reader.string(item, what: "port") else { continue }
                if let port = policyPort(text.value) {
                    ports.append(Located(port, at: text.location))
                } else {
                    reader.report(TopologyMessages.invalidPolicyPort(text.value), at: text.location)
                }
            }
        }
        return PolicyRuleSpec(from: from, to: to, services: services, ports: ports, location: node.location)
    }

    static func policyPort(_ text: String) -> PolicyPort? {
        var transport = PolicyPort.Transport.tcp
        var number = Substring(text)
        if let slash = text.firstIndex(of: "/") {
            guard let named = PolicyPort.Transport(rawValue: String(text[..<slash])) else { return nil }
            transport = named
            number = text[text.index(after: slash)...]
        }
        guard number.allSatisfy(\.isASCII), let port = Int(number), Language.portRange.contains(port) else { return nil }
        return PolicyPort(transport, port)
    }
}
