/// Every side effect DecoyNet has on a host, as one protocol: the planner and the engine see
/// nothing else, and tests run them against libvirt's own in-memory `test:///default` driver.
public protocol Hypervisor: Sendable {
    /// The libvirt URI this talks to.
    var uri: String { get }

    func networks() async throws -> [LiveNetwork]
    func defineAndStartNetwork(xml: String) async throws
    /// Stops (when active) and undefines.
    func removeNetwork(name: String) async throws
    func updateNetwork(name: String, change: NetworkChange) async throws
    func dhcpLeases(network: String) async throws -> [DHCPLease]

    func pools() async throws -> [LivePool]
    /// Defines, builds (creates its folder) and starts a directory pool.
    func defineAndStartPool(xml: String) async throws
    /// Stops, deletes the folder of, and undefines a pool.
    func removePool(name: String) async throws
    func volumes(pool: String) async throws -> [LiveVolume]
    func createVolume(pool: String, xml: String) async throws
    func deleteVolume(pool: String, name: String) async throws
    /// Writes `bytes` into an existing volume from its start (a seed image).
    func uploadVolume(pool: String, name: String, bytes: [UInt8]) async throws

    func domains() async throws -> [LiveDomain]
    func defineDomain(xml: String) async throws
    func startDomain(name: String) async throws
    /// Powers off (when running) and undefines, with its NVRAM and managed save.
    func removeDomain(name: String) async throws
    func domainState(name: String) async throws -> DomainState
    /// The live definition, as `virsh dumpxml` prints it.
    func domainXML(name: String) async throws -> String
    /// Powers off, keeping the definition.
    func stopDomain(name: String) async throws
    /// Writes the running guest's memory to `path` (a raw core dump written by the hypervisor host).
    func dumpMemory(name: String, to path: String) async throws
    /// Writes the running guest's memory and device state to `path` (libvirt's save image: a
    /// header, the domain's XML, QEMU's migration stream) and stops the domain.
    func saveDomain(name: String, to path: String) async throws
    /// Starts the defined domain a save image holds from that image: the guest runs on from the
    /// moment it was saved (a running guest's image restores running). The image is kept and can be
    /// restored again.
    func restoreDomain(from path: String) async throws
    /// Pauses a running guest: its virtual processors stop, its disks are drained and flushed.
    func suspendDomain(name: String) async throws
    func resumeDomain(name: String) async throws
    func volumeXML(pool: String, name: String) async throws -> String
    /// Makes the pool notice files that appeared in or left its folder.
    func refreshPool(name: String) async throws
    /// Sends one QMP command to the domain's QEMU (outside the guest), handing it a file descriptor
    /// when given (QMP `getfd`), and returns its JSON answer. libvirt notes the domain as tainted.
    func monitorCommand(domain: String, json: String, passing descriptor: Int32?) async throws -> String
    /// Sends one JSON command to the domain's QEMU guest agent and returns its JSON answer.
    func guestAgentCommand(domain: String, json: String, timeoutSeconds: Int) async throws -> String
}

public struct LiveNetwork: Sendable, Equatable {
    public var name: String
    public var uuid: String
    public var active: Bool
    public var xml: String

    public init(name: String, uuid: String, active: Bool, xml: String) {
        self.name = name
        self.uuid = uuid
        self.active = active
        self.xml = xml
    }
}

/// A live edit of a network's DHCP reservations or DNS names, which keeps the network running.
public struct NetworkChange: Sendable, Equatable {
    public enum Section: Sendable, Equatable {
        case dhcpHost
        case dnsHost
    }

    public enum Command: Sendable, Equatable {
        case add
        case delete
    }

    public var command: Command
    public var section: Section
    /// The `<host .../>` element as libvirt writes it in that section.
    public var xml: String

    public init(command: Command, section: Section, xml: String) {
        self.command = command
        self.section = section
        self.xml = xml
    }
}

public struct DHCPLease: Sendable, Equatable {
    public var mac: String
    public var address: String
    public var hostname: String?
    /// When the lease runs out, in seconds since 1970 (0: never); a renewal moves it on.
    public var expiry: Int64

    public init(mac: String, address: String, hostname: String?, expiry: Int64 = 0) {
        self.mac = mac
        self.address = address
        self.hostname = hostname
        self.expiry = expiry
    }
}

public struct LivePool: Sendable, Equatable {
    public var name: String
    public var uuid: String
    public var active: Bool

    public init(name: String, uuid: String, active: Bool) {
        self.name = name
        self.uuid = uuid
        self.active = active
    }
}

public struct LiveVolume: Sendable, Equatable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }
}

public enum DomainState: String, Sendable, Equatable {
    case running
    case blocked
    case paused
    case shutdown
    case shutoff
    case crashed
    case suspended
    case unknown
}

public struct LiveDomain: Sendable, Equatable {
    public var name: String
    public var uuid: String
    public var state: DomainState
    /// DecoyNet's metadata element as libvirt returns it, or nil for domains that have none.
    public var metadata: String?

    public init(name: String, uuid: String, state: DomainState, metadata: String?) {
        self.name = name
        self.uuid = uuid
        self.state = state
        self.metadata = metadata
    }
}

/// A libvirt call that failed: libvirt's own message, and the object it was about.
public struct HypervisorError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var object: String?
    public var message: String

    public init(operation: String, object: String?, message: String) {
        self.operation = operation
        self.object = object
        self.message = message
    }

    public var description: String {
        if let object { return "\(operation) \(object): \(message)" }
        return "\(operation): \(message)"
    }
}
