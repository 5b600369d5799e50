#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes compiled documents with plain POSIX calls, leaving unchanged files untouched.
///
/// Foundation's `Data.write` syncs every file to disk, which costs seconds for the tens of thousands
/// of documents of a large environment; compiled output can always be compiled again, so it needs
/// no sync. Skipping identical files keeps their timestamps, so tools that watch them see only
/// what changed.
enum OutputFile {
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        var description: String { "\(path): \(String(cString: strerror(code)))" }
    }

    /// Writes `text` unless (with `compare`) the file already holds exactly it.
    static func write(_ text: String, to path: String, compare: Bool = true) throws {
        var text = text
        try text.withUTF8 { bytes in
            if compare, isIdentical(bytes, at: path) { return }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw WriteError(path: path, code: errno) }
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: path, code: errno)
                }
                offset += written
            }
        }
    }

    /// A folder, unless it exists already.
    static func makeFolder(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw WriteError(path: path, code: errno) }
    }

    private static func isIdentical(_ bytes: UnsafeBufferPointer<UInt8>, at path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) == bytes.count else { return false }
        if bytes.isEmpty { return true }
        let existing = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { existing.deallocate() }
        var offset = 0
        while offset < bytes.count {
            let count = read(fd, existing.baseAddress! + offset, bytes.count - offset)
            if count <= 0 { return false }
            offset += count
        }
        return memcmp(existing.baseAddress!, bytes.baseAddress!, bytes.count) == 0
    }
}
