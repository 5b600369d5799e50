import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One command at a time per environment and connection: a second `apply` or `destroy` waits for
/// the first instead of interleaving with it.
public final class EnvironmentLock {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock, calling `waiting` once if another process holds it.
    public init(environment: String, uri: String, waiting: () -> Void = {}) throws {
        (path, descriptor) = try Self.open(environment: environment, uri: uri)
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            waiting()
            while flock(descriptor, LOCK_EX) != 0 {
                if errno != EINTR {
                    close(descriptor)
                    throw LockError(path: path, message: String(cString: strerror(errno)))
                }
            }
        }
    }

    /// Takes the lock without holding a thread while another process has it: tries, then (after
    /// calling `waiting` once) tries again every `interval` seconds. For servers, whose few threads
    /// must not block.
    public static func acquire(environment: String, uri: String, interval: Double = 0.2, waiting: () -> Void = {}) async throws -> EnvironmentLock {
        var told = false
        while true {
            if let lock = try EnvironmentLock(environment: environment, uri: uri, blocking: false) { return lock }
            if !told {
                waiting()
                told = true
            }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
    }

    /// nil when another process holds the lock.
    private init?(environment: String, uri: String, blocking: Bool) throws {
        let (path, descriptor) = try Self.open(environment: environment, uri: uri)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    private static func open(environment: String, uri: String) throws -> (String, Int32) {
        let directory = FileManager.default.isWritableFile(atPath: "/run/lock") ? "/run/lock/decoynet" : NSTemporaryDirectory() + "decoynet-locks"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let safeURI = uri.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let path = "\(directory)/\(String(safeURI))-\(environment).lock"
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LockError(path: path, message: String(cString: strerror(errno))) }
        return (path, descriptor)
    }

    public struct LockError: Error, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "cannot lock \(path): \(message)" }
    }
}
