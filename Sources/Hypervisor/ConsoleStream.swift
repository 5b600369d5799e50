import CLibvirt
import Foundation

/// A domain's serial console as a byte stream, as `virsh console` reads it: on a libvirt connection
/// of its own, with a thread of its own that blocks reading, so that a console left open holds
/// none of the threads other calls need.
public final class ConsoleStream: @unchecked Sendable {
    private let connection: virConnectPtr
    private let domain: virDomainPtr
    private let stream: virStreamPtr
    private let lock = NSLock()
    private var closed = false
    /// What the guest writes, in pieces as they come; finishes when the console closes.
    public let output: AsyncStream<[UInt8]>
    private let continuation: AsyncStream<[UInt8]>.Continuation

    /// Opens the console of the running domain `name`, taking it over from any other client.
    public init(uri: String, domain name: String) throws {
        LibvirtHypervisor.silenceDefaultErrorPrinting()
        guard let connection = virConnectOpen(uri) else {
            throw HypervisorError(operation: "connect to", object: uri, message: LibvirtHypervisor.lastError())
        }
        guard let domain = virDomainLookupByName(connection, name) else {
            let message = LibvirtHypervisor.lastError()
            virConnectClose(connection)
            throw HypervisorError(operation: "open the console of", object: name, message: message)
        }
        guard let stream = virStreamNew(connection, 0) else {
            let message = LibvirtHypervisor.lastError()
            virDomainFree(domain)
            virConnectClose(connection)
            throw HypervisorError(operation: "open the console of", object: name, message: message)
        }
        guard virDomainOpenConsole(domain, nil, stream, UInt32(VIR_DOMAIN_CONSOLE_FORCE.rawValue)) == 0 else {
            let message = LibvirtHypervisor.lastError()
            virStreamFree(stream)
            virDomainFree(domain)
            virConnectClose(connection)
            throw HypervisorError(operation: "open the console of", object: name, message: message)
        }
        self.connection = connection
        self.domain = domain
        self.stream = stream
        (output, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(256))
        let thread = Thread { [self] in readLoop() }
        thread.name = "console-\(name)"
        thread.start()
    }

    private func readLoop() {
        var buffer = [CChar](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBufferPointer { virStreamRecv(stream, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            continuation.yield(buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) })
        }
        continuation.finish()
        release()
    }

    /// Sends keystrokes to the guest.
    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: bytes.count - offset) {
                    virStreamSend(stream, $0, bytes.count - offset)
                }
            }
            guard sent > 0 else { throw HypervisorError(operation: "write to the console of", object: nil, message: LibvirtHypervisor.lastError()) }
            offset += Int(sent)
        }
    }

    /// Ends the console: the reading thread returns and the connection closes.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        // Under the lock, so that the reading thread cannot free the stream meanwhile.
        virStreamAbort(stream)
    }

    private func release() {
        lock.lock()
        closed = true
        lock.unlock()
        virStreamFree(stream)
        virDomainFree(domain)
        virConnectClose(connection)
    }
}
