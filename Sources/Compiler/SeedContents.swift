import Topology

/// What a host's seed says, once: the compiler renders it twice from this value, as cloud-config
/// (`user-data`, `network-config`, `meta-data`) for an image with cloud-init, and as `decoynet.json`,
/// the one form the project's first-boot agent reads (with `jq`, a real parser), so the two cannot
/// drift apart and the agent's reading is tested over every golden seed without a boot.
public struct SeedContents: Sendable, Equatable {
    /// The JSON form's version: an agent refuses a seed whose version it does not know.
    public static let version = 1

    public struct Interface: Sendable, Equatable {
        /// `nicN`, N the interface's place in the domain (a warm template's MACs are numbered so).
        public var name: String
        public var mac: String
        public var dhcp: Bool
        /// Static addresses with their prefix (`10.0.1.5/24`); none when DHCP gives the address.
        public var addresses: [String]
        /// The default route's next hop, when this interface has it.
        public var gateway: String?
        public var nameservers: [String]
        public var search: [String]

        public init(name: String, mac: String, dhcp: Bool, addresses: [String], gateway: String?, nameservers: [String], search: [String]) {
            (self.name, self.mac, self.dhcp, self.addresses, self.gateway, self.nameservers, self.search) = (name, mac, dhcp, addresses, gateway, nameservers, search)
        }
    }

    public struct User: Sendable, Equatable {
        public var name: String
        public var gecos: String
        public var shell: String
        public var groups: [String]

        public init(name: String, gecos: String, shell: String, groups: [String]) {
            (self.name, self.gecos, self.shell, self.groups) = (name, gecos, shell, groups)
        }
    }

    public struct Password: Sendable, Equatable {
        public var user: String
        /// Plain text, set with `chpasswd`: one line, so a newline is a space, as cloud-config has it;
        /// or, `hashed`, its crypt(3) hash, set with `chpasswd -e`.
        public var text: String
        /// `text` is a hash, made on the host (`HostSeed.hashingPasswords`): under emulation a guest
        /// takes half a second of CPU for each yescrypt hash, the host 20 ms.
        public var hashed: Bool

        public init(user: String, text: String, hashed: Bool = false) {
            (self.user, self.text, self.hashed) = (user, text, hashed)
        }
    }

    public struct File: Sendable, Equatable {
        public var path: String
        /// Octal, four digits (`0644`).
        public var mode: String
        /// User and group of the file (and of its folder); nil for root's.
        public var owner: String?
        public var contents: [UInt8]

        public init(path: String, mode: String, owner: String?, contents: [UInt8]) {
            (self.path, self.mode, self.owner, self.contents) = (path, mode, owner, contents)
        }
    }

    /// The host's instance: identity (SSH host keys, passwords) is taken once per instance.
    public var instance: String
    public var hostname: String
    public var fqdn: String
    public var interfaces: [Interface] = []
    public var users: [User] = []
    public var passwords: [Password] = []
    public var files: [File] = []
    /// Shell commands run in order after the files are written.
    public var commands: [String] = []
    /// The owner's days at work, on a workstation of an environment with `activity`.
    public var activity: Activity?

    public struct Activity: Sendable, Equatable {
        public var spec: ActivitySpec
        public var plan: WorkPlan

        public init(spec: ActivitySpec, plan: WorkPlan) {
            (self.spec, self.plan) = (spec, plan)
        }
    }

    public init(instance: String, hostname: String, fqdn: String) {
        (self.instance, self.hostname, self.fqdn) = (instance, hostname, fqdn)
    }

    /// A warm template's seed: the agent holds at it, before it takes any identity, until the seed
    /// disk changes under it (see `WarmTemplates`).
    public static let template = SeedContents(instance: "decoynet-template", hostname: "localhost", fqdn: "localhost")

    /// `decoynet.json`: keys in a fixed order, one value a line where it helps a reader, the
    /// instance first (a template's clone sees its new seed in the disk's first sectors).
    public var json: String {
        var out = "{\n"
        out += "  \"version\": \(Self.version),\n"
        out += "  \"instance\": \(JSONText.string(instance)),\n"
        out += "  \"hostname\": \(JSONText.string(hostname)),\n"
        out += "  \"fqdn\": \(JSONText.string(fqdn)),\n"
        out += "  \"interfaces\": " + JSONText.array(interfaces.map { interface in
            JSONText.object([("name", JSONText.string(interface.name)), ("mac", JSONText.string(interface.mac)),
                             ("dhcp", interface.dhcp ? "true" : "false"), ("addresses", JSONText.strings(interface.addresses)),
                             ("gateway", interface.gateway.map(JSONText.string) ?? "null"),
                             ("nameservers", JSONText.strings(interface.nameservers)), ("search", JSONText.strings(interface.search))])
        }) + ",\n"
        out += "  \"users\": " + JSONText.array(users.map { user in
            JSONText.object([("name", JSONText.string(user.name)), ("gecos", JSONText.string(user.gecos)),
                             ("shell", JSONText.string(user.shell)), ("groups", JSONText.strings(user.groups))])
        }) + ",\n"
        out += "  \"passwords\": " + JSONText.array(passwords.map { password in
            JSONText.object([("user", JSONText.string(password.user)), (password.hashed ? "hash" : "password", JSONText.string(password.text))])
        }) + ",\n"
        out += "  \"files\": " + JSONText.array(files.map { file in
            JSONText.object([("path", JSONText.string(file.path)), ("mode", JSONText.string(file.mode)),
                             ("owner", file.owner.map(JSONText.string) ?? "null"),
                             ("content", JSONText.string(SeedRenderer.base64(file.contents)))])
        }) + ",\n"
        out += "  \"commands\": " + JSONText.array(commands.map(JSONText.string)) + ",\n"
        out += "  \"activity\": " + (activity.map(Self.json) ?? "null") + "\n"
        return out + "}\n"
    }
}

extension SeedContents {
    /// The plan with what its agent needs to follow it: the zone and speed of the company's clock,
    /// where each service is, and a line per day.
    static func json(_ activity: Activity) -> String {
        let plan = activity.plan, spec = activity.spec
        func optional(_ text: String?) -> String { text.map(JSONText.string) ?? "null" }
        func clock(_ minutes: Int) -> String { (minutes / 60 < 10 ? "0" : "") + "\(minutes / 60):" + (minutes % 60 < 10 ? "0" : "") + "\(minutes % 60)" }
        let members: [(String, String)] = [
            ("person", JSONText.string(plan.person)), ("timezone", JSONText.string(spec.timezone)), ("speed", "\(spec.speed)"),
            ("workday", JSONText.string(clock(spec.workdayStart) + "-" + clock(spec.workdayEnd))), ("epoch", JSONText.string(WorkPlan.epoch)),
            ("directory", optional(plan.directory)), ("realm", optional(plan.realm)), ("files", optional(plan.fileServer)),
            ("mail", optional(plan.mailServer)), ("proxy", optional(plan.proxy)),
            ("colleagues", JSONText.strings(plan.colleagues)), ("documents", JSONText.strings(plan.documents)), ("sites", JSONText.strings(plan.sites)),
        ]
        return "{\n" + members.map { "    " + JSONText.string($0.0) + ": " + $0.1 + ",\n" }.joined()
            + "    \"days\": [\n" + plan.schedule.map { "      " + JSONText.string(WorkPlan.line($0)) }.joined(separator: ",\n") + "\n    ]\n  }"
    }
}

/// JSON text written by hand, so the same seed is the same bytes (no dictionary order, no
/// platform's number or escape choices).
enum JSONText {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func strings(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ", ") + "]"
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// One element a line, indented under its key.
    static func array(_ elements: [String]) -> String {
        elements.isEmpty ? "[]" : "[\n" + elements.map { "    " + $0 }.joined(separator: ",\n") + "\n  ]"
    }
}
