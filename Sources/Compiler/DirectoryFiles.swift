import Topology

/// What a domain controller's image reads to provision its domain (`decoynet-dc-provision`): the
/// domain's names and the administrator's password, and one line per person. Both are root's only.
enum DirectoryFiles {
    static func files(_ host: ResolvedHost, in environment: ResolvedEnvironment, domain: String) -> [ResolvedFile] {
        let address = host.interfaces.first?.address.description ?? ""
        let forwarder = host.interfaces.first.flatMap { interface in environment.networks.first { $0.name == interface.network } }?.bridgeAddress
        let conf = [
            "realm=\(DomainNames.realm(domain))",
            "netbios=\(DomainNames.netbios(domain))",
            "admin_password=\(Identifiers.password(environment: environment.name, user: "Administrator"))",
            "address=\(address)",
            "forwarder=\(forwarder.map(\.description) ?? "")",
        ].joined(separator: "\n") + "\n"
        var people = ""
        for person in environment.people {
            let words = person.name.split(separator: " ")
            let given = words.first.map(String.init) ?? ""
            let surname = words.dropFirst().joined(separator: " ")
            let fields = [person.user, given, surname, person.department ?? "", person.title ?? "", "\(person.user)@\(domain)", person.password ?? ""]
            people += fields.map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\t") + "\n"
        }
        return [
            ResolvedFile(path: "/etc/decoynet/domain.conf", contents: Array(conf.utf8), owner: nil, mode: "0600"),
            ResolvedFile(path: "/etc/decoynet/people.tsv", contents: Array(people.utf8), owner: nil, mode: "0600"),
        ]
    }
}
