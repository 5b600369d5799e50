import CLibvirt
import Foundation
import Naming

/// The `Hypervisor` over libvirt's C API.
///
/// Calls run on a `BlockingPool` sized to the requested parallelism. libvirtd serves at most five
/// requests of one client connection at a time (and counts keep-alives among them), so the
/// hypervisor opens one connection for every three threads and spreads calls over them.
public final class LibvirtHypervisor: Hypervisor, @unchecked Sendable {
    public let uri: String
    private let connections: [ConnectionSlot]
    private let pool: BlockingPool
    private let next = Counter()

    /// Opens `uri` (or `LIBVIRT_DEFAULT_URI`, else `qemu:///system`) for `parallelism` calls at once.
    public init(uri: String? = nil, parallelism: Int = 8) throws {
        Self.silenceDefaultErrorPrinting()
        Self.surviveClosedSockets()
        Self.runEventLoop()
        let resolved = Self.resolveURI(uri)
        self.uri = resolved
        let count = max(1, (max(1, parallelism) + 2) / 3)
        var opened: [ConnectionSlot] = []
        for _ in 0 ..< count {
            opened.append(try ConnectionSlot(uri: resolved))
        }
        connections = opened
        pool = BlockingPool(threads: max(1, parallelism), name: "libvirt")
    }

    /// The URI libvirt would pick: the given one, else `LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    public static func resolveURI(_ uri: String?) -> String {
        uri ?? ProcessInfo.processInfo.environment["LIBVIRT_DEFAULT_URI"].flatMap { $0.isEmpty ? nil : $0 } ?? Naming.defaultURI
    }

    // MARK: - Plumbing

    private static let silenced: Void = {
        virSetErrorFunc(nil) { _, _ in }
    }()

    /// libvirt prints every error to standard error unless told otherwise; DecoyNet reports them itself.
    static func silenceDefaultErrorPrinting() { _ = silenced }

    private static let pipesIgnored: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    private static let eventLoop: Void = {
        guard virEventRegisterDefaultImpl() == 0 else { return }
        let thread = Thread {
            while true { _ = virEventRunDefaultImpl() }
        }
        thread.name = "libvirt-events"
        thread.start()
    }()

    /// libvirt's default event loop on a thread of its own, before any connection opens: with it,
    /// a client notices at once when libvirtd closes its socket (and sends keep-alives), so the
    /// next call opens a new connection instead of failing on the dead one.
    static func runEventLoop() { _ = eventLoop }

    /// libvirt's client writes to its socket without MSG_NOSIGNAL: libvirtd restarting between two
    /// calls would kill the whole process with SIGPIPE (exit 141, no message) instead of failing the
    /// call. libvirt's documentation asks applications to ignore the signal.
    static func surviveClosedSockets() { _ = pipesIgnored }

    static func lastError() -> String {
        guard let error = virGetLastError(), let message = error.pointee.message else { return "unknown libvirt error" }
        return String(cString: message)
    }

    /// Runs `body` on a libvirt thread with a connection, turning a failure into `HypervisorError`.
    /// A call on a connection libvirtd closed (it stopped or restarted) fails with a message that
    /// says so; the next call opens the connection again, so a long-running server recovers.
    private func call<T: Sendable>(_ operation: String, _ object: String?, _ body: @escaping @Sendable (virConnectPtr) throws -> T) async throws -> T {
        let slot = connections[next.increment() % connections.count]
        return try await pool.run {
            let connection = try slot.take(operation: operation, object: object)
            defer { virConnectClose(connection) }
            do {
                return try body(connection)
            } catch let error as HypervisorError where virConnectIsAlive(connection) == 0 {
                throw HypervisorError.lost(operation: operation, object: object, uri: slot.uri, message: error.message)
            }
        }
    }

    private func fail(_ operation: String, _ object: String?) -> HypervisorError {
        HypervisorError(operation: operation, object: object, message: Self.lastError())
    }

    private static func uuidString(_ fill: (UnsafeMutablePointer<CChar>) -> Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = buffer.withUnsafeMutableBufferPointer { fill($0.baseAddress!) }
        return String(cString: buffer)
    }

    private static func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    // MARK: - Networks

    public func networks() async throws -> [LiveNetwork] {
        try await call("list networks", nil) { connection in
            var list: UnsafeMutablePointer<virNetworkPtr?>?
            let count = virConnectListAllNetworks(connection, &list, 0)
            guard count >= 0, let list else { throw self.fail("list networks", nil) }
            defer { free(list) }
            var result: [LiveNetwork] = []
            for index in 0 ..< Int(count) {
                guard let network = list[index] else { continue }
                defer { virNetworkFree(network) }
                let name = String(cString: virNetworkGetName(network))
                let uuid = Self.uuidString { virNetworkGetUUIDString(network, $0) }
                let xml = Self.takeString(virNetworkGetXMLDesc(network, 0)) ?? ""
                result.append(LiveNetwork(name: name, uuid: uuid, active: virNetworkIsActive(network) == 1, xml: xml))
            }
            return result.sorted { $0.name < $1.name }
        }
    }

    public func defineAndStartNetwork(xml: String) async throws {
        try await call("define network", nil) { connection in
            guard let network = virNetworkDefineXML(connection, xml) else { throw self.fail("define network", Self.name(in: xml)) }
            defer { virNetworkFree(network) }
            if virNetworkIsActive(network) != 1, virNetworkCreate(network) != 0 {
                let error = self.fail("start network", Self.name(in: xml))
                virNetworkUndefine(network)
                throw error
            }
        }
    }

    public func removeNetwork(name: String) async throws {
        try await call("remove network", name) { connection in
            guard let network = virNetworkLookupByName(connection, name) else { return }
            defer { virNetworkFree(network) }
            if virNetworkIsActive(network) == 1, virNetworkDestroy(network) != 0 { throw self.fail("stop network", name) }
            if virNetworkIsPersistent(network) == 1, virNetworkUndefine(network) != 0 { throw self.fail("undefine network", name) }
        }
    }

    public func updateNetwork(name: String, change: NetworkChange) async throws {
        try await call("update network", name) { connection in
            guard let network = virNetworkLookupByName(connection, name) else { throw self.fail("update network", name) }
            defer { virNetworkFree(network) }
            let command = change.command == .add ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST : VIR_NETWORK_UPDATE_COMMAND_DELETE
            let section = change.section == .dhcpHost ? VIR_NETWORK_SECTION_IP_DHCP_HOST : VIR_NETWORK_SECTION_DNS_HOST
            var flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG.rawValue
            if virNetworkIsActive(network) == 1 { flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue }
            if virNetworkUpdate(network, command.rawValue, section.rawValue, -1, change.xml, flags) != 0 {
                throw self.fail("update network", name)
            }
        }
    }

    public func dhcpLeases(network name: String) async throws -> [DHCPLease] {
        try await call("read DHCP leases of", name) { connection in
            guard let network = virNetworkLookupByName(connection, name) else { throw self.fail("read DHCP leases of", name) }
            defer { virNetworkFree(network) }
            var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
            let count = virNetworkGetDHCPLeases(network, nil, &leases, 0)
            guard count >= 0, let leases else { throw self.fail("read DHCP leases of", name) }
            defer { free(leases) }
            var result: [DHCPLease] = []
            for index in 0 ..< Int(count) {
                guard let lease = leases[index] else { continue }
                defer { virNetworkDHCPLeaseFree(lease) }
                let value = lease.pointee
                result.append(DHCPLease(mac: value.mac.map { String(cString: $0) } ?? "",
                                        address: value.ipaddr.map { String(cString: $0) } ?? "",
                                        hostname: value.hostname.map { String(cString: $0) }, expiry: Int64(value.expirytime)))
            }
            return result
        }
    }

    // MARK: - Storage

    public func pools() async throws -> [LivePool] {
        try await call("list storage pools", nil) { connection in
            var list: UnsafeMutablePointer<virStoragePoolPtr?>?
            let count = virConnectListAllStoragePools(connection, &list, 0)
            guard count >= 0, let list else { throw self.fail("list storage pools", nil) }
            defer { free(list) }
            var result: [LivePool] = []
            for index in 0 ..< Int(count) {
                guard let pool = list[index] else { continue }
                defer { virStoragePoolFree(pool) }
                result.append(LivePool(name: String(cString: virStoragePoolGetName(pool)),
                                       uuid: Self.uuidString { virStoragePoolGetUUIDString(pool, $0) },
                                       active: virStoragePoolIsActive(pool) == 1))
            }
            return result.sorted { $0.name < $1.name }
        }
    }

    public func defineAndStartPool(xml: String) async throws {
        try await call("define storage pool", nil) { connection in
            let name = Self.name(in: xml)
            guard let pool = virStoragePoolDefineXML(connection, xml, 0) else { throw self.fail("define storage pool", name) }
            defer { virStoragePoolFree(pool) }
            if virStoragePoolIsActive(pool) != 1 {
                guard virStoragePoolBuild(pool, 0) == 0, virStoragePoolCreate(pool, 0) == 0 else {
                    let error = self.fail("start storage pool", name)
                    virStoragePoolUndefine(pool)
                    throw error
                }
            }
        }
    }

    public func removePool(name: String) async throws {
        let local = isLocal
        try await call("remove storage pool", name) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { return }
            defer { virStoragePoolFree(pool) }
            if virStoragePoolIsActive(pool) == 1 {
                var volumes: UnsafeMutablePointer<virStorageVolPtr?>?
                let count = virStoragePoolListAllVolumes(pool, &volumes, 0)
                if count > 0, let volumes {
                    for index in 0 ..< Int(count) {
                        guard let volume = volumes[index] else { continue }
                        virStorageVolDelete(volume, 0)
                        virStorageVolFree(volume)
                    }
                }
                free(volumes)
                if virStoragePoolDestroy(pool) != 0 { throw self.fail("stop storage pool", name) }
            }
            // Removing the folder fails when something else was put in it; the pool still goes.
            let folder = Self.takeString(virStoragePoolGetXMLDesc(pool, 0)).flatMap(Self.poolPath)
            _ = virStoragePoolDelete(pool, 0)
            if local, let folder { rmdir(folder) }
            if virStoragePoolUndefine(pool) != 0 { throw self.fail("undefine storage pool", name) }
        }
    }

    public func volumes(pool name: String) async throws -> [LiveVolume] {
        try await call("list volumes of", name) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { throw self.fail("list volumes of", name) }
            defer { virStoragePoolFree(pool) }
            _ = virStoragePoolRefresh(pool, 0)
            var list: UnsafeMutablePointer<virStorageVolPtr?>?
            let count = virStoragePoolListAllVolumes(pool, &list, 0)
            guard count >= 0, let list else { throw self.fail("list volumes of", name) }
            defer { free(list) }
            var result: [LiveVolume] = []
            for index in 0 ..< Int(count) {
                guard let volume = list[index] else { continue }
                defer { virStorageVolFree(volume) }
                result.append(LiveVolume(name: String(cString: virStorageVolGetName(volume)),
                                         path: Self.takeString(virStorageVolGetPath(volume)) ?? ""))
            }
            return result.sorted { $0.name < $1.name }
        }
    }

    public func createVolume(pool name: String, xml: String) async throws {
        try await call("create volume in", name) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { throw self.fail("create volume in", name) }
            defer { virStoragePoolFree(pool) }
            guard let volume = virStorageVolCreateXML(pool, xml, 0) else { throw self.fail("create volume", Self.name(in: xml)) }
            virStorageVolFree(volume)
        }
    }

    public func deleteVolume(pool name: String, name volumeName: String) async throws {
        let local = isLocal
        try await call("delete volume", volumeName) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { return }
            defer { virStoragePoolFree(pool) }
            guard let volume = virStorageVolLookupByName(pool, volumeName) else { return }
            defer { virStorageVolFree(volume) }
            let path = Self.takeString(virStorageVolGetPath(volume))
            if virStorageVolDelete(volume, 0) != 0 { throw self.fail("delete volume", volumeName) }
            // A file written by `uploadVolume` for a driver that keeps volumes in memory.
            if local, let path, FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    public func uploadVolume(pool name: String, name volumeName: String, bytes: [UInt8]) async throws {
        let local = isLocal
        try await call("upload volume", volumeName) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { throw self.fail("upload volume to", name) }
            defer { virStoragePoolFree(pool) }
            guard let volume = virStorageVolLookupByName(pool, volumeName) else { throw self.fail("upload volume", volumeName) }
            defer { virStorageVolFree(volume) }
            guard let stream = virStreamNew(connection, 0) else { throw self.fail("upload volume", volumeName) }
            defer { virStreamFree(stream) }
            guard virStorageVolUpload(volume, stream, 0, UInt64(bytes.count), 0) == 0 else {
                // A driver without uploads (libvirt's test driver keeps volumes in memory): on this
                // machine the volume's file is ours to write, as a pool build would make it.
                let error = self.fail("upload volume", volumeName)
                guard local, virGetLastErrorCode() == Int32(VIR_ERR_NO_SUPPORT.rawValue), let path = Self.takeString(virStorageVolGetPath(volume)) else { throw error }
                try Self.writeLocally(bytes, to: path, volume: volumeName)
                return
            }
            var offset = 0
            while offset < bytes.count {
                let sent = bytes.withUnsafeBytes { buffer in
                    virStreamSend(stream, buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), min(256 * 1024, bytes.count - offset))
                }
                if sent < 0 {
                    let error = self.fail("upload volume", volumeName)
                    virStreamAbort(stream)
                    throw error
                }
                offset += Int(sent)
            }
            guard virStreamFinish(stream) == 0 else { throw self.fail("upload volume", volumeName) }
        }
    }

    /// Whether the connection's hypervisor is this machine (no host in the URI).
    var isLocal: Bool {
        guard let range = uri.range(of: "://") else { return true }
        return uri[range.upperBound...].hasPrefix("/")
    }

    static func writeLocally(_ bytes: [UInt8], to path: String, volume: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        } catch {
            throw HypervisorError(operation: "write volume", object: volume, message: "\(path): \(error.localizedDescription)")
        }
    }

    // MARK: - Domains

    public func guestAgentCommand(domain name: String, json: String, timeoutSeconds: Int) async throws -> String {
        try await call("ask the guest agent of", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("ask the guest agent of", name) }
            defer { virDomainFree(domain) }
            guard let answer = virDomainQemuAgentCommand(domain, json, Int32(timeoutSeconds), 0) else {
                throw self.fail("ask the guest agent of", name)
            }
            defer { free(answer) }
            return String(cString: answer)
        }
    }

    public func monitorCommand(domain name: String, json: String, passing descriptor: Int32?) async throws -> String {
        try await call("ask the QEMU monitor of", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("ask the QEMU monitor of", name) }
            defer { virDomainFree(domain) }
            var answer: UnsafeMutablePointer<CChar>?
            if var descriptor {
                var outputs: UInt32 = 0
                var received: UnsafeMutablePointer<Int32>?
                let status = virDomainQemuMonitorCommandWithFiles(domain, json, 1, &descriptor, &outputs, &received, &answer, 0)
                if let received {
                    for index in 0 ..< Int(outputs) { close(received[index]) }
                    free(received)
                }
                if status != 0 { throw self.fail("ask the QEMU monitor of", name) }
            } else if virDomainQemuMonitorCommand(domain, json, &answer, 0) != 0 {
                throw self.fail("ask the QEMU monitor of", name)
            }
            guard let answer else { return "" }
            defer { free(answer) }
            return String(cString: answer)
        }
    }

    public func domains() async throws -> [LiveDomain] {
        try await call("list domains", nil) { connection in
            var list: UnsafeMutablePointer<virDomainPtr?>?
            let count = virConnectListAllDomains(connection, &list, 0)
            guard count >= 0, let list else { throw self.fail("list domains", nil) }
            defer { free(list) }
            var result: [LiveDomain] = []
            for index in 0 ..< Int(count) {
                guard let domain = list[index] else { continue }
                defer { virDomainFree(domain) }
                let metadata = Self.takeString(virDomainGetMetadata(domain, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), Self.metadataURI, 0))
                result.append(LiveDomain(name: String(cString: virDomainGetName(domain)),
                                         uuid: Self.uuidString { virDomainGetUUIDString(domain, $0) },
                                         state: Self.state(of: domain), metadata: metadata))
            }
            return result.sorted { $0.name < $1.name }
        }
    }

    /// The namespace of DecoyNet's metadata element (`DomainMetadata.namespace`).
    static let metadataURI = Naming.metadataNamespace

    public func defineDomain(xml: String) async throws {
        try await call("define domain", nil) { connection in
            guard let domain = virDomainDefineXML(connection, xml) else { throw self.fail("define domain", Self.name(in: xml)) }
            virDomainFree(domain)
        }
    }

    public func startDomain(name: String) async throws {
        try await call("start domain", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("start domain", name) }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1 { return }
            if virDomainCreate(domain) != 0 { throw self.fail("start domain", name) }
        }
    }

    public func removeDomain(name: String) async throws {
        try await call("remove domain", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { return }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1, virDomainDestroy(domain) != 0 { throw self.fail("stop domain", name) }
            let flags = VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
            if virDomainIsPersistent(domain) == 1, virDomainUndefineFlags(domain, flags) != 0 {
                // Drivers without NVRAM support (the test driver) refuse the flag: try plainly.
                if virDomainUndefine(domain) != 0 { throw self.fail("undefine domain", name) }
            }
        }
    }

    public func domainState(name: String) async throws -> DomainState {
        try await call("read state of", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("read state of", name) }
            defer { virDomainFree(domain) }
            return Self.state(of: domain)
        }
    }

    public func domainXML(name: String) async throws -> String {
        try await call("read definition of", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("read definition of", name) }
            defer { virDomainFree(domain) }
            guard let xml = Self.takeString(virDomainGetXMLDesc(domain, 0)) else { throw self.fail("read definition of", name) }
            return xml
        }
    }

    public func stopDomain(name: String) async throws {
        try await call("stop domain", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("stop domain", name) }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1, virDomainDestroy(domain) != 0 { throw self.fail("stop domain", name) }
        }
    }

    public func suspendDomain(name: String) async throws {
        try await call("pause domain", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("pause domain", name) }
            defer { virDomainFree(domain) }
            if virDomainSuspend(domain) != 0 { throw self.fail("pause domain", name) }
        }
    }

    public func resumeDomain(name: String) async throws {
        try await call("resume domain", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("resume domain", name) }
            defer { virDomainFree(domain) }
            if virDomainResume(domain) != 0 { throw self.fail("resume domain", name) }
        }
    }

    public func dumpMemory(name: String, to path: String) async throws {
        try await call("dump memory of", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("dump memory of", name) }
            defer { virDomainFree(domain) }
            let flags = VIR_DUMP_MEMORY_ONLY.rawValue
            if virDomainCoreDumpWithFormat(domain, path, VIR_DOMAIN_CORE_DUMP_FORMAT_RAW.rawValue, flags) != 0 {
                throw self.fail("dump memory of", name)
            }
        }
    }

    public func saveDomain(name: String, to path: String) async throws {
        try await call("save", name) { connection in
            guard let domain = virDomainLookupByName(connection, name) else { throw self.fail("save", name) }
            defer { virDomainFree(domain) }
            if virDomainSaveFlags(domain, path, nil, 0) != 0 { throw self.fail("save", name) }
        }
    }

    public func restoreDomain(from path: String) async throws {
        try await call("restore", path) { connection in
            if virDomainRestoreFlags(connection, path, nil, 0) != 0 { throw self.fail("restore from", path) }
        }
    }

    public func volumeXML(pool name: String, name volumeName: String) async throws -> String {
        try await call("read volume", volumeName) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { throw self.fail("read volume", volumeName) }
            defer { virStoragePoolFree(pool) }
            guard let volume = virStorageVolLookupByName(pool, volumeName) else { throw self.fail("read volume", volumeName) }
            defer { virStorageVolFree(volume) }
            guard let xml = Self.takeString(virStorageVolGetXMLDesc(volume, 0)) else { throw self.fail("read volume", volumeName) }
            return xml
        }
    }

    public func refreshPool(name: String) async throws {
        try await call("refresh storage pool", name) { connection in
            guard let pool = virStoragePoolLookupByName(connection, name) else { throw self.fail("refresh storage pool", name) }
            defer { virStoragePoolFree(pool) }
            if virStoragePoolRefresh(pool, 0) != 0 { throw self.fail("refresh storage pool", name) }
        }
    }

    private static func state(of domain: virDomainPtr) -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(domain, &state, &reason, 0) == 0 else { return .unknown }
        switch UInt32(state) {
        case VIR_DOMAIN_RUNNING.rawValue: return .running
        case VIR_DOMAIN_BLOCKED.rawValue: return .blocked
        case VIR_DOMAIN_PAUSED.rawValue: return .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: return .shutdown
        case VIR_DOMAIN_SHUTOFF.rawValue: return .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: return .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: return .suspended
        default: return .unknown
        }
    }

    /// The `<name>` of a document, for error messages about objects libvirt refused to create.
    /// A pool document's `<target><path>`.
    static func poolPath(in xml: String) -> String? {
        guard let start = xml.range(of: "<path>"), let end = xml.range(of: "</path>", range: start.upperBound ..< xml.endIndex) else { return nil }
        return String(xml[start.upperBound ..< end.lowerBound])
    }

    static func name(in xml: String) -> String? {
        guard let start = xml.range(of: "<name>"), let end = xml.range(of: "</name>", range: start.upperBound ..< xml.endIndex) else { return nil }
        return String(xml[start.upperBound ..< end.lowerBound])
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// One of the hypervisor's connections, opened again when libvirtd closed it.
private final class ConnectionSlot: @unchecked Sendable {
    let uri: String
    private let lock = NSLock()
    private var connection: virConnectPtr

    init(uri: String) throws {
        self.uri = uri
        connection = try Self.open(uri, operation: "connect to", object: nil)
    }

    deinit {
        virConnectClose(connection)
    }

    /// The connection with a reference taken for the caller, who closes it when done; a dead one
    /// is replaced first (calls still holding the old one keep their own reference).
    func take(operation: String, object: String?) throws -> virConnectPtr {
        try lock.withLock {
            if virConnectIsAlive(connection) == 0 {
                let fresh = try Self.open(uri, operation: operation, object: object)
                virConnectClose(connection)
                connection = fresh
            }
            virConnectRef(connection)
            return connection
        }
    }

    private static func open(_ uri: String, operation: String, object: String?) throws -> virConnectPtr {
        guard let connection = virConnectOpen(uri) else {
            let message = LibvirtHypervisor.lastError()
            if operation == "connect to" { throw HypervisorError(operation: operation, object: object ?? uri, message: message) }
            throw HypervisorError.lost(operation: operation, object: object, uri: uri, message: message)
        }
        // A keep-alive every 5 s, the connection closed after 3 unanswered (drivers without one, such as
        // test:///, refuse it harmlessly).
        _ = virConnectSetKeepAlive(connection, 5, 3)
        return connection
    }
}

extension HypervisorError {
    /// libvirtd went away under a call: what happened and what to do, with libvirt's own words last.
    static func lost(operation: String, object: String?, uri: String, message: String) -> HypervisorError {
        HypervisorError(operation: operation, object: object,
                        message: "the connection to libvirt (\(uri)) was lost: libvirtd stopped or restarted; "
                            + "run the command again once it answers (virsh -c \(uri) version): it carries on from what exists (libvirt: \(message))")
    }
}
