import Diagnostics
import Naming

/// Every diagnostic of the topology language, in one place; `docs/topology.md` explains each id.
public enum TopologyMessages {
    // MARK: Reading the file

    static func unreadableFile(_ why: String) -> Message {
        Message(id: "unreadable-file", "cannot read the file: it \(why)")
    }

    static func fileTooLarge(_ limit: Int) -> Message {
        Message(id: "file-too-large", "file is larger than \(limit >> 20) MiB; a topology is expected to be far smaller")
    }

    static func notUTF8(_ byte: UInt8) -> Message {
        Message(id: "not-utf8", "file is not UTF-8 text (byte 0x\(String(byte, radix: 16)))")
    }

    static let emptyFile = Message(id: "empty-file", "file is empty; a topology needs 'name', 'networks' and 'hosts'")

    static func yamlSyntax(_ problem: String, context: String?) -> Message {
        let context = context.map { " \($0)" } ?? ""
        return Message(id: "yaml-syntax", "invalid YAML: \(problem)\(context)")
    }

    static func tooManyNodes(_ limit: Int) -> Message {
        Message(id: "too-many-nodes", "document expands to more than \(limit) values (through aliases?)")
    }

    static let tooManyDuplicateKeys = Message(id: "duplicate-key", "too many repeated keys to report")

    static func duplicateKey(_ key: String, firstAt first: SourceLocation?) -> Message {
        let whereFirst = first.map { "; the first is at line \($0.line)" } ?? ""
        return Message(id: "duplicate-key", "key '\(key)' is given twice\(whereFirst)")
    }

    // MARK: Shape

    static func unknownKey(_ key: String, in context: String, hint: String) -> Message {
        Message(id: "unknown-key", "unknown key '\(key)' in \(context)\(hint)")
    }

    static func keyNotAllowed(_ key: String, in context: String, advice: String) -> Message {
        Message(id: "key-not-allowed", "'\(key)' cannot be set in \(context); \(advice)")
    }

    static func missingKey(_ key: String, in context: String) -> Message {
        Message(id: "missing-key", "\(context) needs '\(key)'")
    }

    static func wrongType(_ what: String, expected: String, found: String) -> Message {
        Message(id: "wrong-type", "\(what) must be \(expected), found \(found)")
    }

    static func keyNotText(_ context: String) -> Message {
        Message(id: "wrong-type", "keys of \(context) must be names, found a mapping or a list")
    }

    static func emptySection(_ key: String, needs: String) -> Message {
        Message(id: "empty-section", "'\(key)' needs at least one \(needs)")
    }

    // MARK: Names and values

    static func invalidEnvironmentName(_ name: String) -> Message {
        Message(id: "invalid-name", "'\(name)' is not a valid environment name: use lowercase letters, digits and '-', starting with a letter, at most \(Language.environmentNameLimit) characters")
    }

    static func invalidName(_ name: String, kind: String) -> Message {
        Message(id: "invalid-name", "'\(name)' is not a valid \(kind) name: use lowercase letters, digits and '-', starting with a letter, at most \(Language.nameLimit) characters")
    }

    static func invalidDomain(_ name: String) -> Message {
        Message(id: "invalid-domain", "'\(name)' is not a valid DNS name such as acme.example")
    }

    static func invalidChoice(_ value: String, what: String, choices: [String]) -> Message {
        let list = choices.count > 1 ? choices.dropLast().joined(separator: ", ") + " or " + choices.last! : choices.joined()
        return Message(id: "invalid-value", "'\(value)' is not a valid \(what); expected \(list)\(Suggestion.hint(for: value, among: choices))")
    }

    static func invalidBool(_ value: String, what: String) -> Message {
        Message(id: "invalid-value", "\(what) must be true or false, found '\(value)'")
    }

    static func invalidInteger(_ value: String, what: String) -> Message {
        Message(id: "invalid-value", "\(what) must be a whole number, found '\(value)'")
    }

    static func outOfRange(_ what: String, value: String, range: String) -> Message {
        Message(id: "out-of-range", "\(what) must be \(range), found \(value)")
    }

    static func invalidSize(_ value: String, what: String, plainAllowed: Bool) -> Message {
        let plain = plainAllowed ? " (a plain number means MiB)" : ""
        return Message(id: "invalid-size", "'\(value)' is not a valid \(what): write a whole number with MiB, GiB or TiB\(plain)")
    }

    static func decimalUnit(_ value: String, suggestion: String) -> Message {
        Message(id: "invalid-size", "'\(value)' uses a decimal unit; sizes are binary: did you mean '\(suggestion)'?")
    }

    static func invalidDuration(_ value: String) -> Message {
        Message(id: "invalid-duration", "'\(value)' is not a valid duration: write a whole number with s, m or h, such as 120s")
    }

    static func invalidCIDR(_ value: String) -> Message {
        Message(id: "invalid-cidr", "'\(value)' is not an IPv4 prefix such as 10.10.0.0/24")
    }

    static func cidrHostBits(_ value: String, network: IPv4Network) -> Message {
        Message(id: "invalid-cidr", "\(value) has host bits set; did you mean \(network)?")
    }

    static func prefixOutOfRange(_ network: IPv4Network) -> Message {
        Message(id: "invalid-cidr", "prefix /\(network.prefixLength) of \(network) is outside /16 to /30")
    }

    static func invalidAddress(_ value: String) -> Message {
        Message(id: "invalid-address", "'\(value)' is not an IPv4 address such as 10.10.0.5")
    }

    static func invalidMAC(_ value: String) -> Message {
        Message(id: "invalid-mac", "'\(value)' is not a MAC address such as 52:54:00:12:34:56")
    }

    static func multicastMAC(_ mac: MACAddress) -> Message {
        Message(id: "invalid-mac", "\(mac) is a multicast address; an interface needs a unicast MAC (even first byte)")
    }

    static func invalidProbe(_ value: String) -> Message {
        Message(id: "invalid-probe", "'\(value)' is not a health probe; expected running, lease, agent, tcp:PORT, http:PORT/PATH, dns:NAME, ssh, smtp, imap, smb, ldap, kerberos or mysql")
    }

    static func unknownService(_ value: String) -> Message {
        let names = Language.wellKnownServices.keys.sorted()
        return Message(id: "unknown-service", "unknown service '\(value)'; use a well-known name (\(names.joined(separator: ", "))) or {port: N}\(Suggestion.hint(for: value, among: names))")
    }

    // MARK: Images

    static func imageNeedsSource(_ context: String) -> Message {
        Message(id: "image-needs-source", "\(context) needs 'disk' or 'kernel'")
    }

    static func kernelNeedsInitrd() -> Message {
        Message(id: "kernel-needs-initrd", "'kernel' requires 'initrd'")
    }

    static func needsKernel(_ key: String) -> Message {
        Message(id: "needs-kernel", "'\(key)' only applies with 'kernel'")
    }

    /// `required`: for a deploy, which cannot go on without it.
    static func imageFileMissing(_ path: String, required: Bool) -> Message {
        let severity: Severity = required ? .error : .warning
        let state = required ? "does not exist" : "does not exist (yet)"
        // An image of the project's store says how to build it.
        let store = Naming.imageStore + "/"
        if path.hasPrefix(store), let name = path.dropFirst(store.count).split(separator: "/").first, path.dropFirst(store.count).contains("/") {
            return Message(id: "image-file-missing", severity: severity, "image file '\(path)' \(state); build it with 'decoynet image build \(name)'")
        }
        return Message(id: "image-file-missing", severity: severity,
                       "image file '\(path)' \(state); \(required ? "build or copy it before applying" : "the deployer will need it")")
    }

    static func imageRefused(_ path: String, _ problem: ImageProblem, roots: [String]) -> Message {
        let folders = roots.joined(separator: ", ")
        switch problem {
        case .outside:
            return Message(id: "image-outside-store", "image file '\(path)' is outside the image folders (\(folders)); "
                + "build it there with 'decoynet image build', or allow its folder with --allow-images DIR")
        case .notAFile:
            return Message(id: "image-not-a-file", "image file '\(path)' is not a regular file (a device or a folder would give the guest the host's data)")
        case let .backingOutside(backing):
            return Message(id: "image-backing-outside-store", "image file '\(path)' is a qcow2 whose backing file '\(backing)' is outside the image folders (\(folders))")
        case let .backingProtocol(backing):
            let shown = backing.count > 60 ? String(backing.prefix(60)) + "..." : backing
            return Message(id: "image-backing-protocol", "image file '\(path)' is a qcow2 whose backing '\(shown)' names a protocol, not a file; rebase it on a file in the image folders")
        case let .externalData(file):
            return Message(id: "image-external-data", "image file '\(path)' is a qcow2 that keeps its data in another file (\(file) has an external data file); convert it with qemu-img convert")
        }
    }

    static func unknownImage(_ name: String, hint: String) -> Message {
        Message(id: "unknown-image", "unknown image '\(name)'\(hint)")
    }

    static func hostWithoutImage(_ host: String) -> Message {
        Message(id: "missing-image", "host \(host) has no image: set 'image', or a 'template' that has one")
    }

    // MARK: Templates

    static func templatePathMissing(_ path: String) -> Message {
        Message(id: "template-path-missing", "template path '\(path)' does not exist")
    }

    static func templatePathOutside(_ path: String) -> Message {
        Message(id: "template-path-outside", "template path '\(path)' is outside the folders templates may be read from: the topology's own folder and the project's templates")
    }

    static func unknownTemplate(_ name: String, hint: String) -> Message {
        Message(id: "unknown-template", "unknown template '\(name)'\(hint)")
    }

    static func templateCycle(_ chain: [String]) -> Message {
        Message(id: "template-cycle", "templates extend each other in a cycle: \(chain.joined(separator: " -> "))")
    }

    static func duplicateTemplate(_ name: String, first: SourceLocation) -> Message {
        Message(id: "duplicate-template", "template \(name) is defined twice; the first is at \(first)")
    }

    // MARK: Networks

    static func networksOverlap(_ name: String, _ cidr: IPv4Network, other: String, _ otherCIDR: IPv4Network) -> Message {
        Message(id: "networks-overlap", "network \(name) (\(cidr)) overlaps network \(other) (\(otherCIDR))")
    }

    static func unknownNetwork(_ name: String, hint: String) -> Message {
        Message(id: "unknown-network", "unknown network '\(name)'\(hint)")
    }

    static func unknownGateway(_ name: String, hint: String) -> Message {
        Message(id: "unknown-gateway", "gateway '\(name)' is not a host of this topology\(hint)")
    }

    static func gatewayNotOnNetwork(_ host: String, network: String) -> Message {
        Message(id: "gateway-not-on-network", "gateway \(host) has no interface on network \(network)")
    }

    static func gatewayIsGroup(_ host: String, count: Int) -> Message {
        Message(id: "gateway-not-single", "gateway \(host) stands for \(count) hosts (count); name a single host")
    }

    // MARK: Addresses

    static func addressOutside(_ address: IPv4Address, network: String, cidr: IPv4Network) -> Message {
        Message(id: "address-outside-network", "address \(address) is outside network \(network) (\(cidr))")
    }

    static func addressReserved(_ address: IPv4Address, role: String, network: String) -> Message {
        Message(id: "address-reserved", "address \(address) is the \(role) of network \(network) and cannot be given to a host")
    }

    static func addressInUse(_ address: IPv4Address, by owner: String, at first: SourceLocation) -> Message {
        Message(id: "address-in-use", "address \(address) is already used by \(owner) (line \(first.line))")
    }

    static func macInUse(_ mac: MACAddress, by owner: String, at first: SourceLocation) -> Message {
        Message(id: "mac-in-use", "MAC \(mac) is already used by \(owner) (line \(first.line))")
    }

    static func fixedValueInGroup(_ key: String, host: String, count: Int) -> Message {
        Message(id: "fixed-value-in-count", "a fixed '\(key)' cannot be shared by the \(count) hosts of \(host); leave it out to have one allocated for each")
    }

    static func bridgeAddressOutside(_ address: IPv4Address, network: String, cidr: IPv4Network) -> Message {
        Message(id: "address-outside-network", "bridge_address \(address) is outside network \(network) (\(cidr))")
    }

    static func bridgeAddressReserved(_ address: IPv4Address, role: String) -> Message {
        Message(id: "address-reserved", "bridge_address \(address) is the \(role) of the network")
    }

    // MARK: Hosts

    static func nameCollision(_ name: String, group: String, other: SourceLocation) -> Message {
        Message(id: "host-name-collision", "host \(name), made by the count of \(group), collides with host \(name) (line \(other.line))")
    }

    static func instanceOutOfRange(_ suffix: String, address: IPv4Address, bounds: IPv4Network) -> Message {
        Message(id: "instance-out-of-range", "copy \(suffix) would move \(address) outside \(bounds); use fewer copies or a smaller address plan")
    }

    static func leaseWithoutDHCP(_ host: String) -> Message {
        Message(id: "lease-without-dhcp", "probe 'lease' needs an interface on a network with DHCP, and host \(host) has none")
    }

    // MARK: Decoy hosts

    static func expectNeedsHTTP(_ probe: String) -> Message {
        Message(id: "expect-needs-http", "'expect' applies to http probes only, not '\(probe)'")
    }

    static func relativeGuestPath(_ path: String) -> Message {
        Message(id: "relative-guest-path", "file path '\(path)' inside the host must be absolute")
    }

    static func fileNeedsContentOrSource() -> Message {
        Message(id: "file-content-or-source", "a file needs exactly one of 'content' and 'source'")
    }

    static func unreadableFileSource(_ path: String) -> Message {
        Message(id: "unreadable-file-source", "cannot read file source '\(path)'")
    }

    static func fileSourceOutside(_ path: String, folder: String) -> Message {
        Message(id: "file-source-outside", "file source '\(path)' is outside '\(folder)'; sources are read from the folder of the file that names them")
    }

    static func invalidUser(_ user: String) -> Message {
        Message(id: "invalid-user", "'\(user)' is not a user name (lowercase letters, digits, '-' and '_', starting with a letter, 32 characters at most)")
    }

    static func duplicateUser(_ user: String) -> Message {
        Message(id: "duplicate-user", "user '\(user)' is given twice; users are unique")
    }

    static func unknownDepartment(_ department: String, hint: String) -> Message {
        Message(id: "unknown-department", "department '\(department)' is not in 'departments'\(hint)")
    }

    static func unknownOwner(_ user: String, hint: String) -> Message {
        Message(id: "unknown-owner", "owner '\(user)' is not a user in 'people'\(hint)")
    }

    static func notEnoughPeople(hosts: Int, people: Int) -> Message {
        Message(id: "not-enough-people", "'owner: auto' needs a person for each of \(hosts) hosts, and 'people' has \(people)")
    }

    static func unknownCheckHost(_ host: String, hint: String) -> Message {
        Message(id: "unknown-check-host", "check names host '\(host)', which is not a host of this topology\(hint)")
    }

    static func checkFromStealthyHost(_ host: String) -> Message {
        Message(id: "check-from-stealthy-host",
                "check runs from '\(host)', which is stealthy: it has no guest agent to run a check in; check it from another host, or drop 'stealth'")
    }

    static func stealthNeedsHardware(_ host: String) -> Message {
        Message(id: "stealth-needs-hardware",
                "host '\(host)' is stealthy but has QEMU's own hardware profile, whose firmware says QEMU; give it a vendor's: hardware: { vendor: dell }")
    }

    static func stealthNeedsKernel(_ host: String) -> Message {
        Message(id: "stealth-needs-kernel",
                "host '\(host)' is stealthy, and its image boots a kernel with no 'stealth: { kernel, initrd }': a stealthy host needs one with "
                    + "drivers for a real machine's SATA disk and Intel card (the project's workstation and linux-server templates have Debian's generic kernel)")
    }

    static func stealthyVirtioInterface(_ host: String) -> Message {
        Message(id: "stealthy-virtio-interface",
                "host '\(host)' is stealthy, and a virtio network card says virtual machine; leave 'model' out (an Intel e1000e) or write e1000e")
    }

    static func invalidCheck() -> Message {
        Message(id: "invalid-check", "a check needs 'from' and either 'to', 'port' and 'expect: open|closed', or 'resolve' and 'expect'")
    }

    static func invalidPolicyPort(_ text: String) -> Message {
        Message(id: "invalid-policy-port", "port '\(text)' is not a port: write a number, tcp/N or udp/N (1 to 65535)")
    }

    static func unknownPolicyNetwork(_ name: String, hint: String) -> Message {
        Message(id: "unknown-policy-network", "policy names '\(name)', which is not a network of this topology (nor 'any')\(hint)")
    }

    static func unknownPolicyTarget(_ name: String, hint: String) -> Message {
        Message(id: "unknown-policy-target", "policy names '\(name)', which is neither a network nor a host of this topology (nor 'any')\(hint)")
    }

    static func unknownPolicyService(_ name: String, hint: String) -> Message {
        Message(id: "unknown-policy-service", "policy names service '\(name)', which is not a well-known service\(hint); give its port instead (ports: [tcp/N])")
    }

    static func policyWithoutGateway(_ network: String) -> Message {
        Message(id: "policy-network-without-gateway", severity: .warning, "network \(network) has no gateway: its hosts have no route to other networks, so policy cannot carry their traffic; set 'gateway' to the router on it")
    }

    // MARK: Activity

    static func invalidWorkday(_ text: String) -> Message {
        Message(id: "invalid-workday", "'\(text)' is not a workday: write its start and end in 24-hour time, such as \"09:00-18:00\"")
    }

    static func workdayTooShort(_ text: String) -> Message {
        Message(id: "workday-too-short", "workday '\(text)' is shorter than \(ActivitySpec.shortestWorkday / 60) hours: people arrive, lunch and leave within it")
    }

    static func invalidTimezone(_ text: String) -> Message {
        Message(id: "invalid-timezone", "'\(text)' is not a time zone: write an IANA name such as Asia/Tokyo or Europe/Berlin, or UTC")
    }

    static func activityWithoutPeople() -> Message {
        Message(id: "activity-without-people", "'activity' has nobody to work: add 'people' and give workstations an 'owner'")
    }

    static func activityWithoutOwners() -> Message {
        Message(id: "activity-without-owners", severity: .warning,
                "'activity' is set, but no host has an 'owner': people act from their own workstations; give them one (owner: auto)")
    }

    // MARK: Totals

    static func tooMany(_ what: String, limit: Int, counting: String, leftOut: Bool = true) -> Message {
        Message(id: "too-many-\(what)", "the topology makes more than \(limit) \(what) (\(counting))" + (leftOut ? "; this and what follows is left out" : ""))
    }
}
