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
        let directory = FileManager.default.isWritableFile(atPath: "/run/lock") ? "/run/lock/decoynet" : NSTemporaryDirectory() + "decoynet-locks"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let safeURI = uri.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        path = "\(directory)/\(String(safeURI))-\(environment).lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LockError(path: path, message: String(cString: strerror(errno))) }
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

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    public struct LockError: Error, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "cannot lock \(path): \(message)" }
    }
}
