import Naming

/// libvirt's domain document (`domain.rng`), limited to what decoy hosts need.
public struct Domain: LibvirtDocument, Equatable {
    /// `kvm` or `qemu` (TCG).
    public var type: String
    public var name: String
    public var uuid: String
    public var description: String?
    public var metadata: DomainMetadata?
    public var memoryMiB: UInt64
    public var vcpus: Int
    public var os: DomainOS
    public var cpuMode: String?
    public var disks: [DomainDisk]
    public var interfaces: [DomainInterface]
    public var serialLogFile: String?
    /// SMBIOS tables the guest reads (`dmidecode`); nil keeps QEMU's own.
    public var sysinfo: DomainSysinfo?
    /// A virtio-serial channel for the QEMU guest agent (exec, operation tests).
    public var guestAgent = false
    /// A pvpanic device: a guest kernel's panic reaches libvirt at once (`on_crash`), instead of a
    /// domain that looks running while its kernel is dead.
    public var panicDevice = false
    /// TCG's translation cache (`<tcg><tb-cache>`), in MiB; nil keeps QEMU's default (1 GiB, filled
    /// lazily but never given back). Only for type `qemu`.
    public var tcgCacheMiB: UInt64?
    /// A virtio RNG: the kernel has its entropy at once instead of seconds into the boot.
    public var virtioRNG = true
    /// libvirt's default virtio balloon; false writes `<memballoon model='none'/>`.
    public var memoryBalloon = true
    /// The USB controller (`ich9-ehci1`); nil keeps libvirt's default (`qemu-xhci` on q35).
    public var usbController: DomainController?
    /// false, without `usbController`, writes `<controller type='usb' model='none'/>`: no USB at all
    /// (idle workstations cost a quarter less CPU without QEMU's xHCI, benchmarks/idle.sh).
    public var usb = true
    /// A PCIe root port of this model (`ioh3420`, Intel's) on the root bus; nil lets libvirt add its own.
    public var rootPort: DomainController?
    /// VMware's I/O port backdoor, which QEMU emulates by default under TCG; false turns it off.
    public var vmport = true
    /// Arguments for QEMU beside libvirt's (`<qemu:commandline>`), for what libvirt cannot say.
    public var qemuArguments: [String] = []
    /// The QEMU binary (`<emulator>`); nil lets libvirt take its default.
    public var emulator: String?

    public static let qemuNamespace = XMLElement.Namespace(prefix: "qemu", uri: "http://libvirt.org/schemas/domain/qemu/1.0")

    public init(type: String, name: String, uuid: String, description: String? = nil, metadata: DomainMetadata? = nil,
                memoryMiB: UInt64, vcpus: Int, os: DomainOS, cpuMode: String? = nil, disks: [DomainDisk] = [],
                interfaces: [DomainInterface] = [], serialLogFile: String? = nil) {
        self.type = type
        self.name = name
        self.uuid = uuid
        self.description = description
        self.metadata = metadata
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.os = os
        self.cpuMode = cpuMode
        self.disks = disks
        self.interfaces = interfaces
        self.serialLogFile = serialLogFile
    }

    public var xmlElement: XMLElement {
        var children = [XMLElement("name", text: name), XMLElement("uuid", text: uuid)]
        if let description { children.append(XMLElement("description", text: description)) }
        if let metadata { children.append(XMLElement("metadata", children: [metadata.xmlElement])) }
        children.append(XMLElement("memory", attributes: [("unit", "MiB")], text: String(memoryMiB)))
        children.append(XMLElement("vcpu", text: String(vcpus)))
        if let sysinfo { children.append(sysinfo.xmlElement) }
        var os = os
        if sysinfo != nil { os.smbiosFromSysinfo = true }
        children.append(os.xmlElement)
        var features = [XMLElement("acpi"), XMLElement("apic")]
        if !vmport { features.append(XMLElement("vmport", attributes: [("state", "off")])) }
        if let tcgCacheMiB, type == "qemu" {
            features.append(XMLElement("tcg", children: [XMLElement("tb-cache", attributes: [("unit", "MiB")], text: String(tcgCacheMiB))]))
        }
        children.append(XMLElement("features", children: features))
        if let cpuMode { children.append(XMLElement("cpu", attributes: [("mode", cpuMode)])) }
        children.append(XMLElement("clock", attributes: [("offset", "utc")]))
        children.append(XMLElement("on_poweroff", text: "destroy"))
        children.append(XMLElement("on_reboot", text: "restart"))
        children.append(XMLElement("on_crash", text: "destroy"))
        var devices: [XMLElement] = (emulator.map { [XMLElement("emulator", text: $0)] } ?? []) + disks.map(\.xmlElement)
        if disks.contains(where: { $0.bus == "scsi" }) {
            devices.append(XMLElement("controller", attributes: [("type", "scsi"), ("index", "0"), ("model", "virtio-scsi")]))
        }
        if let usbController {
            devices.append(XMLElement("controller", attributes: [("type", "usb"), ("index", "0"), ("model", usbController.model)],
                                      children: [DomainController.address(slot: usbController.slot)]))
        } else if !usb {
            devices.append(XMLElement("controller", attributes: [("type", "usb"), ("index", "0"), ("model", "none")]))
        }
        if let rootPort {
            devices.append(XMLElement("controller", attributes: [("type", "pci"), ("index", "1"), ("model", "pcie-root-port")], children: [
                XMLElement("model", attributes: [("name", rootPort.model)]),
                DomainController.address(slot: rootPort.slot),
            ]))
        }
        devices += interfaces.map(\.xmlElement)
        var serialChildren = [XMLElement("target", attributes: [("port", "0")])]
        if let serialLogFile { serialChildren.append(XMLElement("log", attributes: [("file", serialLogFile), ("append", "on")])) }
        devices.append(XMLElement("serial", attributes: [("type", "pty")], children: serialChildren))
        devices.append(XMLElement("console", attributes: [("type", "pty")], children: [XMLElement("target", attributes: [("type", "serial"), ("port", "0")])]))
        if guestAgent {
            devices.append(XMLElement("channel", attributes: [("type", "unix")], children: [
                XMLElement("target", attributes: [("type", "virtio"), ("name", "org.qemu.guest_agent.0")]),
            ]))
        }
        if virtioRNG {
            devices.append(XMLElement("rng", attributes: [("model", "virtio")], children: [XMLElement("backend", attributes: [("model", "random")], text: "/dev/urandom")]))
        }
        if !memoryBalloon { devices.append(XMLElement("memballoon", attributes: [("model", "none")])) }
        if panicDevice { devices.append(XMLElement("panic", attributes: [("model", "isa")])) }
        children.append(XMLElement("devices", children: devices))
        if !qemuArguments.isEmpty {
            let ns = Self.qemuNamespace
            children.append(XMLElement("commandline", namespace: ns, children: qemuArguments.map {
                XMLElement("arg", namespace: ns, attributes: [("value", $0)])
            }))
        }
        return XMLElement("domain", attributes: [("type", type)], children: children)
    }
}

/// DecoyNet's own `<metadata>` child: which environment and host a domain is, what it was compiled
/// from, and what its health checks need, so that every command can work from libvirt alone.
public struct DomainMetadata: Sendable, Equatable {
    public static let namespace = XMLElement.Namespace(prefix: Naming.metadataPrefix, uri: Naming.metadataNamespace)

    public var environment: String
    public var host: String
    /// `sha256:` and the digest of the compiled definition, so a planner can tell what changed.
    public var digest: String
    public var healthTimeoutSeconds: Int
    /// Probes as the language writes them (`tcp:80`).
    public var probes: [String]
    public var interfaces: [DomainMetadataInterface]
    /// For a copy of a topology: the topology's own environment name.
    public var instanceOf: String?
    /// Text an HTTP probe's body must contain, by probe (`http:80/about.html` -> `Acme`).
    public var expectations: [String: String] = [:]
    /// The topology's operation tests run from inside this host.
    public var checks: [DomainMetadataCheck] = []
    /// How many times a host that panics or misses its health deadline is started again.
    public var retries = 2
    /// When the host boots among its environment's: 0 first (gateways, directory, DNS), then 1
    /// (other servers), then 2 (workstations).
    public var bootOrder = 1
    /// What `reset --evidence` takes from inside the running guest before stopping it.
    public var evidence: [DomainMetadataEvidence] = []
    /// A stealthy host: no guest agent; its console takes DecoyNet's root login for the detector self-test.
    public var stealth = false

    public init(environment: String, host: String, digest: String, healthTimeoutSeconds: Int = Naming.defaultHealthTimeoutSeconds,
                probes: [String] = [], interfaces: [DomainMetadataInterface] = [], instanceOf: String? = nil) {
        self.instanceOf = instanceOf
        self.environment = environment
        self.host = host
        self.digest = digest
        self.healthTimeoutSeconds = healthTimeoutSeconds
        self.probes = probes
        self.interfaces = interfaces
    }

    public var xmlElement: XMLElement {
        let ns = Self.namespace
        var children = interfaces.map { interface in
            XMLElement("interface", namespace: ns, attributes: [("network", interface.network), ("mac", interface.mac),
                                                               ("address", interface.address), ("dhcp", interface.dhcp ? "yes" : "no")])
        }
        children += probes.map { XMLElement("probe", namespace: ns, attributes: attributes(("expect", expectations[$0])), text: $0) }
        children += checks.map { check in
            XMLElement("check", namespace: ns, attributes: attributes(("to", check.to), ("address", check.address), ("port", check.port.map(String.init)),
                                                                     ("name", check.name), ("expect", check.expect)))
        }
        children += evidence.map { XMLElement("evidence", namespace: ns, attributes: [("file", $0.file)], text: $0.command) }
        return XMLElement("host", namespace: ns, attributes: attributes(("environment", environment), ("instance-of", instanceOf), ("name", host),
                                                                        ("digest", digest), ("timeout", String(healthTimeoutSeconds)),
                                                                        ("retries", String(retries)), ("boot-order", String(bootOrder)),
                                                                        ("stealth", stealth ? "yes" : nil)),
                          children: children)
    }

    /// The metadata inside a whole domain definition (`virsh dumpxml`); nil when it has none.
    public init?(definition: String) {
        guard let domain = XMLElement.parse(definition), let metadata = domain.child("metadata"),
              let host = metadata.children.first(where: { $0.name == "host" }) else { return nil }
        self.init(element: host)
    }

    /// Reads the element back from what `virDomainGetMetadata` returns; nil for anything else.
    public init?(xml: String) {
        guard let element = XMLElement.parse(xml) else { return nil }
        self.init(element: element)
    }

    init?(element: XMLElement) {
        guard element.name == "host",
              let environment = element[attribute: "environment"], let host = element[attribute: "name"],
              let digest = element[attribute: "digest"] else { return nil }
        self.environment = environment
        self.host = host
        self.digest = digest
        instanceOf = element[attribute: "instance-of"]
        healthTimeoutSeconds = element[attribute: "timeout"].flatMap(Int.init) ?? Naming.defaultHealthTimeoutSeconds
        retries = element[attribute: "retries"].flatMap(Int.init) ?? 2
        bootOrder = element[attribute: "boot-order"].flatMap(Int.init) ?? 1
        stealth = element[attribute: "stealth"] == "yes"
        evidence = element.children("evidence").compactMap { child in
            guard let file = child[attribute: "file"], let command = child.text else { return nil }
            return DomainMetadataEvidence(file: file, command: command)
        }
        probes = element.children("probe").compactMap(\.text)
        checks = element.children("check").compactMap { child in
            guard let expect = child[attribute: "expect"] else { return nil }
            return DomainMetadataCheck(to: child[attribute: "to"], address: child[attribute: "address"], port: child[attribute: "port"].flatMap(Int.init),
                                       name: child[attribute: "name"], expect: expect)
        }
        for probe in element.children("probe") {
            if let text = probe.text, let expect = probe[attribute: "expect"] { expectations[text] = expect }
        }
        interfaces = element.children("interface").compactMap { child in
            guard let network = child[attribute: "network"], let mac = child[attribute: "mac"], let address = child[attribute: "address"] else { return nil }
            return DomainMetadataInterface(network: network, mac: mac, address: address, dhcp: child[attribute: "dhcp"] != "no")
        }
    }
}

/// An operation test from this host: `to`/`address`/`port` with `expect` open or closed, or
/// `name` with `expect` the address it must resolve to.
public struct DomainMetadataCheck: Sendable, Equatable {
    public var to: String?
    public var address: String?
    public var port: Int?
    public var name: String?
    public var expect: String

    public init(to: String? = nil, address: String? = nil, port: Int? = nil, name: String? = nil, expect: String) {
        self.to = to
        self.address = address
        self.port = port
        self.name = name
        self.expect = expect
    }
}

/// A file of evidence made inside the guest: `command`'s output (run by `sh -c`), kept as `file`.
public struct DomainMetadataEvidence: Sendable, Equatable {
    public var file: String
    public var command: String

    public init(file: String, command: String) {
        self.file = file
        self.command = command
    }
}

public struct DomainMetadataInterface: Sendable, Equatable {
    /// The network's name in the topology (not libvirt's).
    public var network: String
    public var mac: String
    public var address: String
    public var dhcp: Bool

    public init(network: String, mac: String, address: String, dhcp: Bool) {
        self.network = network
        self.mac = mac
        self.address = address
        self.dhcp = dhcp
    }
}

public struct DomainOS: Sendable, Equatable {
    public var arch: String
    public var machine: String
    /// `efi` asks libvirt to pick UEFI firmware; absent means BIOS.
    public var firmware: String?
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    public var bootDevices: [String]
    /// `<smbios mode='sysinfo'/>`: the guest sees the domain's `<sysinfo>` tables.
    public var smbiosFromSysinfo = false

    public init(arch: String = "x86_64", machine: String = "q35", firmware: String? = nil, kernel: String? = nil,
                initrd: String? = nil, cmdline: String? = nil, bootDevices: [String] = []) {
        self.arch = arch
        self.machine = machine
        self.firmware = firmware
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.bootDevices = bootDevices
    }

    var xmlElement: XMLElement {
        var children = [XMLElement("type", attributes: [("arch", arch), ("machine", machine)], text: "hvm")]
        if let kernel { children.append(XMLElement("kernel", text: kernel)) }
        if let initrd { children.append(XMLElement("initrd", text: initrd)) }
        if let cmdline { children.append(XMLElement("cmdline", text: cmdline)) }
        children += bootDevices.map { XMLElement("boot", attributes: [("dev", $0)]) }
        if smbiosFromSysinfo { children.append(XMLElement("smbios", attributes: [("mode", "sysinfo")])) }
        return XMLElement("os", attributes: attributes(("firmware", firmware)), children: children)
    }
}

public struct DomainDisk: Sendable, Equatable {
    public var pool: String
    public var volume: String
    public var format: String
    public var targetDevice: String
    public var bus: String
    public var readOnly: Bool
    public var serial: String?
    /// SCSI INQUIRY strings; libvirt accepts them on the `scsi` bus only.
    public var vendor: String?
    public var product: String?

    public init(pool: String, volume: String, format: String = "qcow2", targetDevice: String = "vda", bus: String = "virtio",
                readOnly: Bool = false, serial: String? = nil, vendor: String? = nil, product: String? = nil) {
        self.pool = pool
        self.volume = volume
        self.format = format
        self.targetDevice = targetDevice
        self.bus = bus
        self.readOnly = readOnly
        self.serial = serial
        self.vendor = vendor
        self.product = product
    }

    var xmlElement: XMLElement {
        var children = [
            XMLElement("driver", attributes: [("name", "qemu"), ("type", format)]),
            XMLElement("source", attributes: [("pool", pool), ("volume", volume)]),
            XMLElement("target", attributes: [("dev", targetDevice), ("bus", bus)]),
        ]
        if readOnly { children.append(XMLElement("readonly")) }
        if let serial { children.append(XMLElement("serial", text: serial)) }
        if let vendor { children.append(XMLElement("vendor", text: vendor)) }
        if let product { children.append(XMLElement("product", text: product)) }
        return XMLElement("disk", attributes: [("type", "volume"), ("device", "disk")], children: children)
    }
}

/// `<sysinfo type='smbios'>`: BIOS, system, baseboard and chassis strings, in libvirt's entry names.
public struct DomainSysinfo: Sendable, Equatable {
    public var bios: [String: String]
    public var system: [String: String]
    public var baseboard: [String: String]
    public var chassis: [String: String]

    public init(bios: [String: String], system: [String: String], baseboard: [String: String], chassis: [String: String]) {
        self.bios = bios
        self.system = system
        self.baseboard = baseboard
        self.chassis = chassis
    }

    var xmlElement: XMLElement {
        func block(_ name: String, _ entries: [String: String]) -> XMLElement {
            XMLElement(name, children: entries.sorted { $0.key < $1.key }.map { XMLElement("entry", attributes: [("name", $0.key)], text: $0.value) })
        }
        // An empty block is left out: a stealthy host's BIOS and chassis come from SMBIOS files instead.
        let blocks = [("bios", bios), ("system", system), ("baseBoard", baseboard), ("chassis", chassis)].filter { !$0.1.isEmpty }
        return XMLElement("sysinfo", attributes: [("type", "smbios")], children: blocks.map { block($0.0, $0.1) })
    }
}

public struct DomainInterface: Sendable, Equatable {
    public var mac: String
    public var network: String
    public var model: String
    /// `<target dev=...>`: the tap device's name on the host; nil lets libvirt pick `vnetN`.
    public var target: String?
    /// A slot on the root bus (`00:NN.0`), where a chipset's own card sits; nil lets libvirt place it
    /// (on q35, behind a PCIe root port, Red Hat's `1b36:000c`).
    public var rootSlot: Int?
    /// The card's boot ROM (iPXE, which prints its name on the console); hosts that boot a kernel need none.
    public var bootROM = true

    public init(mac: String, network: String, model: String, target: String? = nil) {
        self.mac = mac
        self.network = network
        self.model = model
        self.target = target
    }

    var xmlElement: XMLElement {
        var children = [
            XMLElement("mac", attributes: [("address", mac)]),
            XMLElement("source", attributes: [("network", network)]),
        ]
        if let target { children.append(XMLElement("target", attributes: [("dev", target)])) }
        children.append(XMLElement("model", attributes: [("type", model)]))
        if !bootROM { children.append(XMLElement("rom", attributes: [("enabled", "no")])) }
        if let rootSlot { children.append(DomainController.address(slot: rootSlot)) }
        return XMLElement("interface", attributes: [("type", "network")], children: children)
    }
}

/// A controller of a given model in a slot of the root bus (function 0).
public struct DomainController: Sendable, Equatable {
    public var model: String
    public var slot: Int

    public init(model: String, slot: Int) {
        self.model = model
        self.slot = slot
    }

    /// `<address>` of slot `slot`, function 0, on the root bus.
    static func address(slot: Int) -> XMLElement {
        XMLElement("address", attributes: [("type", "pci"), ("domain", "0x0000"), ("bus", "0x00"),
                                           ("slot", "0x" + (slot < 16 ? "0" : "") + String(slot, radix: 16)), ("function", "0x0")])
    }
}
