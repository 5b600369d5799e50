import Digest
import Topology

/// A host's seed: what makes it itself at boot (hostname, network, users, files, its services'
/// settings), rendered beside its XML. One image per role; identity is data.
public struct HostSeed: Sendable, Equatable {
    public var contents: SeedContents
    /// NoCloud's three files, for an image with cloud-init.
    public var metaData: String
    public var userData: String
    public var networkConfig: String
    /// `decoynet.json`, what the project's first-boot agent reads.
    public var agentData: String

    public init(_ contents: SeedContents) {
        self.contents = contents
        metaData = "instance-id: \(contents.instance)\nlocal-hostname: \(contents.hostname)\n"
        userData = SeedRenderer.cloudConfig(contents)
        networkConfig = SeedRenderer.networkConfig(contents.interfaces)
        agentData = contents.json
    }

    /// A warm template's seed (`SeedContents.template`).
    public static let template = HostSeed(.template)

    /// The four files by their names in the seed disk.
    public var texts: [(name: String, text: String)] {
        [("decoynet.json", agentData), ("meta-data", metaData), ("network-config", networkConfig), ("user-data", userData)]
    }

    public var files: [(name: String, contents: [UInt8])] { texts.map { ($0.name, Array($0.text.utf8)) } }

    /// The seed as the read-only disk a host boots with.
    public var isoImage: [UInt8] { SeedImage.iso(files: files) }

    /// This seed with each plain password replaced by `hash` of it (its crypt(3) hash), for the
    /// disk a host boots with: the compiled seed keeps the text, deterministic and readable.
    public func hashingPasswords(_ hash: (String) throws -> String) rethrows -> HostSeed {
        var contents = contents
        for index in contents.passwords.indices where !contents.passwords[index].hashed {
            contents.passwords[index] = .init(user: contents.passwords[index].user, text: try hash(contents.passwords[index].text), hashed: true)
        }
        return HostSeed(contents)
    }
}

/// Makes a host's `SeedContents`, and renders them in the subset of cloud-config that cloud-init
/// reads (one `key: value` a line, lists of mappings written `- key: value` then `  key: value`,
/// file contents in base64, text in double quotes).
public enum SeedRenderer {
    /// Services whose hosts carry every person of the company as a user (mail, files), unless owned.
    static let servicesForEveryone: Set<String> = ["smtp", "imap", "smb"]

    public static func render(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> HostSeed {
        HostSeed(contents(host, in: environment))
    }

    public static func contents(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> SeedContents {
        let fqdn = environment.domain.map { host.name + "." + $0 } ?? host.name
        var seed = SeedContents(instance: host.uuid, hostname: host.name, fqdn: fqdn)
        seed.interfaces = interfaces(host, in: environment)
        let serviceNames = Set(host.services.map(\.name))
        // A PC holds its owner's account; a mail or file server without an owner, everyone's.
        var people = host.owner.map { [$0] } ?? []
        let controller = DomainNames.isDomainController(services: host.services)
        if host.owner == nil, !controller, !serviceNames.isDisjoint(with: servicesForEveryone) {
            people = environment.people
        }
        seed.users = people.map { person in
            SeedContents.User(name: person.user, gecos: oneLine(person.name), shell: "/bin/bash",
                              groups: person.department.map { [groupName($0)] } ?? [])
        }
        // A stealthy host has no guest agent: DecoyNet's self-test logs in as root on its serial console.
        seed.passwords = people.map { SeedContents.Password(user: $0.user, text: oneLine($0.password ?? "")) }
            + (host.stealth ? [SeedContents.Password(user: "root", text: ConsoleLogin.password(environment: environment.name, host: host.name,
                                                                                               key: environment.consoleKey))] : [])
        seed.files = (serviceFiles(host, in: environment, fqdn: fqdn) + host.files).map {
            SeedContents.File(path: $0.path, mode: $0.mode, owner: $0.owner, contents: $0.contents)
        }
        seed.commands = serviceCommands(host, in: environment, fqdn: fqdn).map(oneLine)
        if let activity = environment.activity, let plan = WorkPlan.plan(for: host, in: environment) {
            seed.activity = SeedContents.Activity(spec: activity, plan: plan)
        }
        return seed
    }

    /// `user-data`.
    static func cloudConfig(_ seed: SeedContents) -> String {
        var lines = ["#cloud-config", "hostname: \(seed.hostname)", "fqdn: \(seed.fqdn)", "manage_etc_hosts: true", "ssh_pwauth: true"]
        if !seed.users.isEmpty {
            lines.append("users:")
            for user in seed.users {
                lines.append("- name: \(user.name)")
                lines.append("  gecos: \(quoted(user.gecos))")
                lines.append("  shell: \(user.shell)")
                if !user.groups.isEmpty { lines.append("  groups: \(user.groups.joined(separator: ","))") }
                lines.append("  lock_passwd: false")
            }
        }
        if !seed.passwords.isEmpty {
            lines.append("chpasswd:")
            lines.append("  expire: false")
            lines.append("  users:")
            for password in seed.passwords {
                lines += ["  - name: \(password.user)", "    password: \(quoted(password.text))", "    type: \(password.hashed ? "hash" : "text")"]
            }
        }
        if !seed.files.isEmpty {
            lines.append("write_files:")
            for file in seed.files {
                lines.append("- path: \(file.path)")
                lines.append("  permissions: '\(file.mode)'")
                if let owner = file.owner {
                    lines.append("  owner: \(owner):\(owner)")
                    lines.append("  defer: true")
                }
                lines.append("  encoding: b64")
                // An empty file is "" (a bare `content:` would read as null).
                lines.append("  content: \(file.contents.isEmpty ? "\"\"" : base64(file.contents))")
            }
        }
        if !seed.commands.isEmpty {
            lines.append("runcmd:")
            lines += seed.commands.map { "- \(quoted($0))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Each interface matched by its MAC; DHCP where its network serves it (the reservation gives
    /// the same address), the address itself where it does not.
    static func interfaces(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> [SeedContents.Interface] {
        let networks = Dictionary(environment.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var routed = false
        var interfaces: [SeedContents.Interface] = []
        for (index, interface) in host.interfaces.enumerated() {
            guard let network = networks[interface.network] else { continue }
            var seed = SeedContents.Interface(name: "nic\(index)", mac: interface.mac.description, dhcp: network.dhcp, addresses: [], gateway: nil,
                                              nameservers: [], search: [])
            if !network.dhcp {
                seed.addresses = ["\(interface.address)/\(network.cidr.prefixLength)"]
                if !routed, let gateway = network.gatewayAddress, network.gateway != host.name {
                    seed.gateway = gateway.description
                    routed = true
                }
            }
            if network.dhcp, network.gateway != nil, network.gateway != host.name { routed = true }
            // The gateway of the internet's network sends whatever is outside the environment to it.
            if let internet = environment.internet, internet.interface.network == network.name, network.gateway == host.name {
                seed.gateway = internet.interface.address.description
            }
            // A domain controller answers for its domain itself (and forwards the rest).
            seed.nameservers = [(DomainNames.isDomainController(services: host.services) ? interface.address : network.bridgeAddress).description]
            seed.search = environment.domain.map { [$0] } ?? []
            interfaces.append(seed)
        }
        return interfaces
    }

    /// `network-config`, version 2.
    static func networkConfig(_ interfaces: [SeedContents.Interface]) -> String {
        var lines = ["version: 2", "ethernets:"]
        for interface in interfaces {
            lines.append("  \(interface.name):")
            lines.append("    match:")
            lines.append("      macaddress: \"\(interface.mac)\"")
            lines.append("    dhcp4: \(interface.dhcp)")
            if !interface.addresses.isEmpty { lines.append("    addresses: [\(interface.addresses.joined(separator: ", "))]") }
            if let gateway = interface.gateway {
                lines.append("    routes:")
                lines.append("      - to: default")
                lines.append("        via: \(gateway)")
            }
            lines.append("    nameservers:")
            lines.append("      addresses: [\(interface.nameservers.joined(separator: ", "))]")
            if !interface.search.isEmpty { lines.append("      search: [\(interface.search.joined(separator: ", "))]") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text that a seed keeps on one line (a name, a password, a command), as cloud-config has it:
    /// each line feed a space (by scalar: a `\r\n` keeps its `\r`, as cloud-config's quoting does),
    /// and no NUL (the agent ends items with one).
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\0" }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar != "\0" { scalars.append(scalar == "\n" ? " " : scalar) }
        return String(scalars)
    }

    /// Settings the project's images read for the host's services.
    static func serviceFiles(_ host: ResolvedHost, in environment: ResolvedEnvironment, fqdn: String) -> [ResolvedFile] {
        let organization = environment.organization ?? environment.description ?? environment.name
        var files = [ResolvedFile(path: "/etc/decoynet/services", contents: Array(host.services.map { "\($0.port) \($0.name)\n" }.joined().utf8),
                                  owner: nil, mode: "0644")]
        let names = Set(host.services.map(\.name))
        let written = Set(host.files.map(\.path))
        if names.contains("http"), !written.contains("/var/www/html/index.html") {
            files.append(ResolvedFile(path: "/var/www/html/index.html", contents: Array(CompanySite.index(environment, organization: organization).utf8),
                                      owner: nil, mode: "0644"))
        }
        let controller = DomainNames.isDomainController(services: host.services)
        if controller, let domain = environment.domain {
            files += DirectoryFiles.files(host, in: environment, domain: domain)
        }
        if Firewall.enforces(host, in: environment) {
            files.append(ResolvedFile(path: "/etc/nftables.conf", contents: Array(Firewall.ruleset(environment).utf8), owner: nil, mode: "0755"))
        }
        files += DecoyDocuments.files(host, in: environment, organization: organization)
        if names.contains("http"), !written.contains("/var/www/html/staff.html"), !environment.people.isEmpty {
            files.append(ResolvedFile(path: "/var/www/html/staff.html", contents: Array(CompanySite.staff(environment, organization: organization).utf8),
                                      owner: nil, mode: "0644"))
        }
        if names.contains("dns"), !controller, host.name != environment.internetHost, let domain = environment.domain {
            files.append(ResolvedFile(path: "/etc/bind/named.conf.local", contents: Array("""
                zone "\(domain)" {
                    type master;
                    file "/etc/bind/db.\(domain)";
                };

                """.utf8), owner: nil, mode: "0644"))
            files.append(ResolvedFile(path: "/etc/bind/db.\(domain)", contents: Array(zone(environment, domain: domain, server: host).utf8), owner: nil, mode: "0644"))
        }
        if names.contains("mysql") {
            // The company's application account: a database server answers other hosts (MariaDB
            // refuses a client host it has no user for before it even greets it).
            let database = environment.name.replacingOccurrences(of: "-", with: "_") + "_crm"
            let password = Identifiers.password(environment: environment.name, user: "db-app")
            files.append(ResolvedFile(path: "/etc/mysql/mariadb.conf.d/91-decoynet-init.cnf",
                                      contents: Array("[mysqld]\ninit-file = /etc/mysql/decoynet-init.sql\n".utf8), owner: nil, mode: "0644"))
            files.append(ResolvedFile(path: "/etc/mysql/decoynet-init.sql", contents: Array("""
                CREATE DATABASE IF NOT EXISTS \(database);
                CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '\(password)';
                GRANT ALL PRIVILEGES ON \(database).* TO 'app'@'%';

                """.utf8), owner: nil, mode: "0644"))
        }
        if names.contains("smb"), !controller {
            let workgroup = String((environment.domain?.split(separator: ".").first.map(String.init) ?? environment.name).uppercased().prefix(15))
            var smb = """
                [global]
                   workgroup = \(workgroup)
                   server string = \(organization) file server
                   server role = standalone server
                   passdb backend = smbpasswd:/etc/samba/smbpasswd
                   map to guest = bad user
                   log file = /var/log/samba/log.%m

                [homes]
                   comment = Home folders
                   browseable = no
                   read only = no

                [public]
                   comment = \(organization) shared documents
                   path = /srv/shares/public
                   read only = no
                   guest ok = yes

                """
            for department in environment.departments {
                smb += "\n[\(groupName(department))]\n   comment = \(department)\n   path = /srv/shares/\(groupName(department))\n   valid users = @\(groupName(department))\n   read only = no\n"
            }
            files.append(ResolvedFile(path: "/etc/samba/smb.conf", contents: Array(smb.utf8), owner: nil, mode: "0644"))
            // Every person's SMB account, hashed here: one `smbpasswd -a` per person costs seconds
            // each under emulation. Users are made in this order on a fresh image: uids from 1000.
            // `X`: the password does not expire; set on 2024-01-01 (a time of 0 means "must change").
            var accounts = ""
            for (index, person) in environment.people.enumerated() {
                accounts += "\(person.user):\(1000 + index):\(String(repeating: "X", count: 32)):\(MD4.ntHash(person.password ?? "")):[UX         ]:LCT-65920080:\n"
            }
            files.append(ResolvedFile(path: "/etc/samba/smbpasswd", contents: Array(accounts.utf8), owner: nil, mode: "0600"))
        }
        return files
    }

    static func serviceCommands(_ host: ResolvedHost, in environment: ResolvedEnvironment, fqdn: String) -> [String] {
        let names = Set(host.services.map(\.name))
        let organization = environment.organization ?? environment.name
        var commands: [String] = []
        if names.contains("smtp") {
            commands.append("postconf -e myhostname=\(fqdn) mydomain=\(environment.domain ?? fqdn) 'smtpd_banner=$myhostname ESMTP \(shellSafe(organization)) mail service'")
        }
        if Firewall.enforces(host, in: environment) {
            // The image's nftables service may have run before this seed wrote the ruleset.
            commands.append("nft -f /etc/nftables.conf")
        }
        let controller = DomainNames.isDomainController(services: host.services)
        if names.contains("smb"), !controller {
            let departments = environment.departments.map(groupName)
            for folder in ["public"] + departments { commands.append("mkdir -p /srv/shares/\(folder) && chmod 2775 /srv/shares/\(folder)") }
            for department in departments { commands.append("chgrp \(department) /srv/shares/\(department) || true") }
        }
        if DecoyDocuments.holds(host, in: environment) {
            commands.append(DecoyDocuments.ageCommand)
        }
        return commands
    }

    /// An authoritative zone with every host's first address.
    static func zone(_ environment: ResolvedEnvironment, domain: String, server: ResolvedHost) -> String {
        var lines = [
            "$TTL 3600",
            "@ IN SOA \(server.name).\(domain). hostmaster.\(domain). ( 1 3600 900 604800 3600 )",
            "@ IN NS \(server.name).\(domain).",
        ]
        for host in environment.hosts {
            guard let address = host.interfaces.first?.address else { continue }
            lines.append("\(host.name) IN A \(address)")
        }
        if let web = environment.hosts.first(where: { $0.services.contains { $0.name == "http" } && $0.name != "www" }),
           !environment.hosts.contains(where: { $0.name == "www" }), let address = web.interfaces.first?.address {
            lines.append("www IN A \(address)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A department as a Unix group and share name: `Human Resources` -> `human-resources`.
    static func groupName(_ department: String) -> String {
        let lowered = department.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        return String(lowered.split(separator: "-").joined(separator: "-").prefix(32))
    }

    static func quoted(_ text: String) -> String {
        "\"" + yamlQuoting(text) + "\""
    }

    private static func shellSafe(_ text: String) -> String {
        shellQuotes(text)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index ..< min(index + 3, bytes.count)])
            let value = (UInt32(chunk[0]) << 16) | (chunk.count > 1 ? UInt32(chunk[1]) << 8 : 0) | (chunk.count > 2 ? UInt32(chunk[2]) : 0)
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(chunk.count > 1 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            output.append(chunk.count > 2 ? alphabet[Int(value & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The company's web site, generated from the topology: its name, departments and contacts.
enum CompanySite {
    static func index(_ environment: ResolvedEnvironment, organization: String) -> String {
        let departments = environment.departments
        var contacts = ""
        for department in departments {
            guard let person = environment.people.first(where: { $0.department == department }) else { continue }
            let mail = environment.domain.map { "\(person.user)@\($0)" } ?? person.user
            contacts += "      <li>\(escape(department)): \(escape(person.name)), \(escape(person.title ?? "")) &lt;\(escape(mail))&gt;</li>\n"
        }
        let departmentLine = departments.isEmpty ? ""
            : "  <p>\(departments.count) departments: \(escape(departments.joined(separator: ", "))). <a href=\"staff.html\">Our people</a></p>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>\(escape(organization))</title></head>
            <body>
              <h1>\(escape(organization))</h1>
              <p>\(escape(environment.description ?? "Welcome to \(organization)."))</p>
              <h2>Contact</h2>
              <ul>
            \(contacts)  </ul>
            \(departmentLine)</body>
            </html>

            """
    }

    /// Everyone, by department, with their title and address.
    static func staff(_ environment: ResolvedEnvironment, organization: String) -> String {
        var body = ""
        let departments = environment.departments
        for department in departments + [""] {
            let members = environment.people.filter { ($0.department ?? "") == department }
            guard !members.isEmpty else { continue }
            body += "  <h2>\(escape(department.isEmpty ? "Staff" : department))</h2>\n  <ul>\n"
            for person in members {
                let mail = environment.domain.map { "\(person.user)@\($0)" } ?? person.user
                body += "    <li>\(escape(person.name)), \(escape(person.title ?? "")) &lt;\(escape(mail))&gt;</li>\n"
            }
            body += "  </ul>\n"
        }
        let title = escape(organization) + ": our people"
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>\(title)</title></head>\n<body>\n  <h1>\(title)</h1>\n"
            + body + "</body>\n</html>\n"
    }

    static func escape(_ text: String) -> String {
        htmlEscaping(text)
    }
}

private let yamlQuoting = ASCIIEscaper(["\\": "\\\\", "\"": "\\\"", "\n": " "])
private let shellQuotes = ASCIIEscaper(["'": ""])
private let htmlEscaping = ASCIIEscaper(["&": "&amp;", "<": "&lt;", ">": "&gt;"])
