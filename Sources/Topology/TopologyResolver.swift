import Foundation

/// Precedence of host fields: built-in defaults, `defaults`, the template chain, the host's own.
public enum TopologyResolver {
    /// The host's fields with `defaults` and its template chain applied below them.
    public static func effectiveFields(_ host: HostSpec, in topology: Topology, templates: TemplateLibrary) -> HostFields {
        var fields = topology.defaults
        fields.hardware = fields.hardware ?? topology.hardware
        fields.stealth = fields.stealth ?? topology.stealth
        if let name = (host.fields.template ?? topology.defaults.template)?.value, let chain = templates.chain(name) {
            for template in chain.reversed() {
                fields = fields.overlaid(by: template.fields)
            }
        }
        return fields.overlaid(by: host.fields)
    }

    /// An absolute, normalised path: relative ones resolve from `directory`.
    ///
    /// Pure string work (`.` and `..` folded, repeated slashes dropped): it never asks the file
    /// system, which Foundation's URL does once per call.
    public static func resolvePath(_ path: String, from directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
