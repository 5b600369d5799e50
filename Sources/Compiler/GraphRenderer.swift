import Topology

/// Draws an environment's networks, host groups and gateways as Graphviz DOT or Mermaid.
public enum GraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case dot
        case mermaid
    }

    public static func render(_ environment: ResolvedEnvironment, format: Format) -> String {
        switch format {
        case .dot: return dot(environment)
        case .mermaid: return mermaid(environment)
        }
    }

    private static func hostLabel(_ group: HostGroup) -> String {
        group.count > 1 ? "\(group.name) x\(group.count)" : group.name
    }

    private static func networkLabel(_ network: ResolvedNetwork) -> String {
        "\(network.name) \(network.cidr) \(network.egress.rawValue)"
    }

    private static func isGateway(_ group: HostGroup, of network: String, in environment: ResolvedEnvironment) -> Bool {
        environment.networks.contains { $0.name == network && $0.gateway == group.name }
    }

    private static func dot(_ environment: ResolvedEnvironment) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = ["graph \(quoted(environment.name)) {"]
        lines.append("  graph [rankdir=LR, label=\(quoted(environment.name)), fontname=\"Helvetica\"];")
        lines.append("  node [fontname=\"Helvetica\"];")
        lines.append("  edge [fontname=\"Helvetica\", fontsize=10];")
        for network in environment.networks {
            let label = "\(network.name)\\n\(network.cidr)\\n\(network.egress.rawValue)"
            lines.append("  \(quoted("net:" + network.name)) [shape=box, style=\"rounded,filled\", fillcolor=\"#dde8f7\", label=\"\(label)\"];")
        }
        for group in environment.groups {
            let template = group.template.map { "\\n(\($0))" } ?? ""
            let shape = group.count > 1 ? "box3d" : "ellipse"
            lines.append("  \(quoted("host:" + group.name)) [shape=\(shape), label=\"\(hostLabel(group))\(template)\"];")
        }
        for group in environment.groups {
            for interface in group.interfaces {
                var attributes: [String] = []
                var label = interface.address?.description ?? ""
                if isGateway(group, of: interface.network, in: environment) {
                    label += label.isEmpty ? "gateway" : "\\ngateway"
                    attributes += ["style=bold", "color=\"#c0392b\""]
                }
                if !label.isEmpty { attributes.insert("label=\"\(label)\"", at: 0) }
                let suffix = attributes.isEmpty ? "" : " [" + attributes.joined(separator: ", ") + "]"
                lines.append("  \(quoted("host:" + group.name)) -- \(quoted("net:" + interface.network))\(suffix);")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func mermaid(_ environment: ResolvedEnvironment) -> String {
        var ids: [String: String] = [:]
        for (index, network) in environment.networks.enumerated() { ids["net:" + network.name] = "n\(index)" }
        for (index, group) in environment.groups.enumerated() { ids["host:" + group.name] = "h\(index)" }
        var lines = ["flowchart LR"]
        for network in environment.networks {
            lines.append("  \(ids["net:" + network.name]!)[(\"\(network.name)<br/>\(network.cidr)<br/>\(network.egress.rawValue)\")]")
        }
        for group in environment.groups {
            let template = group.template.map { "<br/>(\($0))" } ?? ""
            let shape = group.count > 1 ? ("[[", "]]") : ("([", "])")
            lines.append("  \(ids["host:" + group.name]!)\(shape.0)\"\(hostLabel(group))\(template)\"\(shape.1)")
        }
        var gatewayLinks: [Int] = []
        var linkIndex = 0
        for group in environment.groups {
            for interface in group.interfaces {
                var label = interface.address?.description ?? ""
                if isGateway(group, of: interface.network, in: environment) {
                    label += label.isEmpty ? "gateway" : " gateway"
                    gatewayLinks.append(linkIndex)
                }
                let arrow = label.isEmpty ? "---" : "---|\"\(label)\"|"
                lines.append("  \(ids["host:" + group.name]!) \(arrow) \(ids["net:" + interface.network]!)")
                linkIndex += 1
            }
        }
        if !gatewayLinks.isEmpty {
            lines.append("  linkStyle \(gatewayLinks.map(String.init).joined(separator: ",")) stroke:#c0392b,stroke-width:3px")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
