import Digest
import Topology

/// A host's NoCloud seed: what makes it itself at boot (hostname, network, users, files, its
/// services' settings), rendered beside its XML. One image per role; identity is data.
public struct HostSeed: Sendable, Equatable {
    public var metaData: String
    public var userData: String
    public var networkConfig: String

    /// The three files by the names NoCloud gives them.
    public var files: [(name: String, contents: [UInt8])] {
        [("meta-data", Array(metaData.utf8)), ("network-config", Array(networkConfig.utf8)), ("user-data", Array(userData.utf8))]
    }

    /// The seed as the read-only disk a host boots with.
    public var isoImage: [UInt8] { SeedImage.iso(files: files) }
}

/// Renders seeds in the subset of cloud-config that both cloud-init and DecoyNet's first-boot
/// agent (`images/agent/decoynet-seed`) read: one `key: value` a line, lists of mappings written
/// `- key: value` then `  key: value`, file contents in base64, text in double quotes.
public enum SeedRenderer {
    /// Services whose hosts carry every person of the company as a user (mail, files), unless owned.
    static let servicesForEveryone: Set<String> = ["smtp", "imap", "smb"]

    public static func render(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> HostSeed {
        let fqdn = environment.domain.map { host.name + "." + $0 } ?? host.name
        let metaData = "instance-id: \(host.uuid)\nlocal-hostname: \(host.name)\n"

        var lines = ["#cloud-config", "hostname: \(host.name)", "fqdn: \(fqdn)", "manage_etc_hosts: true", "ssh_pwauth: true"]
        let serviceNames = Set(host.services.map(\.name))
        // A PC holds its owner's account; a mail or file server without an owner, everyone's.
        var people = host.owner.map { [$0] } ?? []
        let controller = DomainNames.isDomainController(services: host.services)
        if host.owner == nil, !controller, !serviceNames.isDisjoint(with: servicesForEveryone) {
            people = environment.people
        }
        if !people.isEmpty {
            lines.append("users:")
            for person in people {
                lines.append("- name: \(person.user)")
                lines.append("  gecos: \(quoted(person.name))")
                lines.append("  shell: /bin/bash")
                if let department = person.department { lines.append("  groups: \(groupName(department))") }
                lines.append("  lock_passwd: false")
            }
        }
        // A stealthy host has no guest agent: DecoyNet's self-test logs in as root on its serial console.
        let passwords = people.map { ($0.user, $0.password ?? "") }
            + (host.stealth ? [("root", ConsoleLogin.password(environment: environment.name, host: host.name, key: environment.consoleKey))] : [])
        if !passwords.isEmpty {
            lines.append("chpasswd:")
            lines.append("  expire: false")
            lines.append("  users:")
            for (user, password) in passwords {
                lines += ["  - name: \(user)", "    password: \(quoted(password))", "    type: text"]
            }
        }
        let files = serviceFiles(host, in: environment, fqdn: fqdn) + host.files
        if !files.isEmpty {
            lines.append("write_files:")
            for file in files {
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
        let commands = serviceCommands(host, in: environment, fqdn: fqdn)
        if !commands.isEmpty {
            lines.append("runcmd:")
            lines += commands.map { "- \(quoted($0))" }
        }
        return HostSeed(metaData: metaData, userData: lines.joined(separator: "\n") + "\n",
                        networkConfig: networkConfig(host, in: environment))
    }

    /// Version 2: each interface matched by its MAC; DHCP where its network serves it (the
    /// reservation gives the same address), the address itself where it does not.
    static func networkConfig(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> String {
        var lines = ["version: 2", "ethernets:"]
        let networks = Dictionary(environment.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var routed = false
        for (index, interface) in host.interfaces.enumerated() {
            guard let network = networks[interface.network] else { continue }
            lines.append("  nic\(index):")
            lines.append("    match:")
            lines.append("      macaddress: \"\(interface.mac)\"")
            if network.dhcp {
                lines.append("    dhcp4: true")
            } else {
                lines.append("    dhcp4: false")
                lines.append("    addresses: [\(interface.address)/\(network.cidr.prefixLength)]")
                if !routed, let gateway = network.gatewayAddress, network.gateway != host.name {
                    lines.append("    routes:")
                    lines.append("      - to: default")
                    lines.append("        via: \(gateway)")
                    routed = true
                }
            }
            if network.dhcp, network.gateway != nil, network.gateway != host.name { routed = true }
            // The gateway of the internet's network sends whatever is outside the environment to it.
            if let internet = environment.internet, internet.interface.network == network.name, network.gateway == host.name {
                lines.append("    routes:")
                lines.append("      - to: default")
                lines.append("        via: \(internet.interface.address)")
            }
            lines.append("    nameservers:")
            // A domain controller answers for its domain itself (and forwards the rest).
            let server = DomainNames.isDomainController(services: host.services) ? interface.address : network.bridgeAddress
            lines.append("      addresses: [\(server)]")
            if let domain = environment.domain { lines.append("      search: [\(domain)]") }
        }
        return lines.joined(separator: "\n") + "\n"
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
