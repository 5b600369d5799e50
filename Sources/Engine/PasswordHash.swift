import CCrypt
import Compiler
import Foundation
import Hypervisor

/// Guests' password hashes, made on the host: yescrypt with libxcrypt's default cost, the hash a
/// Debian 12 guest's `chpasswd` writes into `/etc/shadow` (`$y$j9T$…`). Under emulation a guest
/// takes about half a second of CPU for each (a file server's hundred people: a minute); the host
/// about 20 ms.
public enum PasswordHash {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Threads of their own: a file server's seed is seconds of hashing, which on Swift's
    /// cooperative pool (a thread per core) would hold every other task of an apply meanwhile.
    private static let pool = BlockingPool(threads: 2, name: "passwords")

    /// `seed` with its passwords hashed (`HostSeed.hashingPasswords`).
    public static func hashing(_ seed: HostSeed) async throws -> HostSeed {
        guard seed.contents.passwords.contains(where: { !$0.hashed }) else { return seed }
        return try await pool.run { try seed.hashingPasswords(yescrypt) }
    }

    /// `text`'s yescrypt hash with a fresh random salt.
    public static func yescrypt(_ text: String) throws -> String {
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        // No random bytes given: libxcrypt reads them from the kernel.
        guard crypt_gensalt_rn("$y$", 0, nil, 0, &salt, Int32(salt.count)) != nil else {
            throw Failure(description: "libxcrypt cannot make a yescrypt salt (errno \(errno))")
        }
        return try hash(text, setting: String(cString: salt))
    }

    /// `text` hashed with `setting` (a salt, or a whole hash to check `text` against).
    public static func hash(_ text: String, setting: String) throws -> String {
        // crypt_rn's work area is some 32 KiB: on the heap, one per call (safe from any thread).
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        // A failure is a null pointer, or a string starting with "*".
        guard let result = crypt_rn(text, setting, data, Int32(MemoryLayout<crypt_data>.size)), result.pointee != CChar(UInt8(ascii: "*")) else {
            throw Failure(description: "libxcrypt cannot hash with the setting \(setting.prefix(7))…")
        }
        return String(cString: result)
    }
}
