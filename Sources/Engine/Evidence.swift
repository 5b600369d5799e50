import Digest
import Foundation
import Observe
import Synchronization

/// One file kept as evidence, with what is needed to verify it later.
public struct EvidenceFile: Sendable, Codable, Equatable {
    /// Relative to the evidence folder of the reset.
    public var path: String
    public var sha256: String
    public var bytes: UInt64
    public var modified: Date
}

public struct HostEvidence: Sendable, Codable {
    public var host: String
    public var domain: String
    /// The definition digest the host was deployed from.
    public var digest: String
    public var stoppedAt: Date
    public var files: [EvidenceFile]
}

/// `manifest.json` of one reset: everything kept, hashed, so that it can be verified later
/// (`sha256sum -c SHA256SUMS` in the same folder checks the same hashes with public tools).
public struct EvidenceManifest: Sendable, Codable {
    public var environment: String
    /// SHA-256 over the sorted `host digest` lines of every host of the environment.
    public var topologyDigest: String
    public var created: Date
    public var tool: String
    public var hosts: [HostEvidence]
    public var captures: [EvidenceFile]
}

public enum EvidenceFolder {
    /// `DIR/ENV-YYYYMMDDTHHMMSSZ`, never an existing folder: evidence is never overwritten.
    static func create(in directory: String, environment: String, at date: Date) throws -> String {
        let base = directory + "/" + environment + "-" + TimelineEvent.basicTime(date)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: rootOnly])
        var candidate = base
        var suffix = 2
        while true {
            do {
                try FileManager.default.createDirectory(atPath: candidate, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: rootOnly])
                return candidate
            } catch CocoaError.fileWriteFileExists {
                candidate = base + "-\(suffix)"
                suffix += 1
            }
        }
    }

    /// Folders being written: only their owner (root) may enter them.
    static let rootOnly = 0o700

    /// Makes a finished evidence folder read-only for root and closed to everyone else: folders
    /// 0500, files 0400. Evidence is looked at, copied and hashed, never changed in place.
    static func seal(_ folder: String) throws {
        let manager = FileManager.default
        for relative in try manager.subpathsOfDirectory(atPath: folder) {
            let path = folder + "/" + relative
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            try manager.setAttributes([.posixPermissions: isFolder.boolValue ? 0o500 : 0o400], ofItemAtPath: path)
        }
        try manager.setAttributes([.posixPermissions: 0o500], ofItemAtPath: folder)
    }

    /// Moves a file, across file systems too (then by copy and removal): the original is gone either way.
    static func move(_ source: String, to destination: String) throws {
        if rename(source, destination) == 0 { return }
        guard errno == EXDEV else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: source, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        try FileManager.default.removeItem(atPath: source)
    }

    /// Hashes a file in 1 MiB pieces, so large overlays and memory dumps need not fit in memory.
    static func describe(_ path: String, relativeTo folder: String) throws -> EvidenceFile {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes: UInt64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
            bytes += UInt64(chunk.count)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let relative = path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
        return EvidenceFile(path: relative, sha256: hasher.finalize().hexString, bytes: bytes,
                            modified: attributes[.modificationDate] as? Date ?? Date())
    }

    static func writeManifest(_ manifest: EvidenceManifest, in folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        try writeSums(manifest.hosts.flatMap(\.files) + manifest.captures, in: folder)
    }

    /// `SHA256SUMS` of `files`, as `sha256sum -c` reads it.
    static func writeSums(_ files: [EvidenceFile], in folder: String) throws {
        let sums = files.map { "\($0.sha256)  \($0.path)\n" }.joined()
        try Data(sums.utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
    }
}

/// One file of an evidence folder checked against its SHA256SUMS line.
/// Hashes of files already read, each valid while the file keeps its device, inode, size,
/// modification and change times (to the nanosecond): viewing an evidence folder again reads none
/// of its gigabytes again. A file changed in the last 2 s is not remembered. Bounded: when full, it
/// starts over.
public final class HashMemo: Sendable {
    struct Key: Hashable, Sendable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var bytes: Int64
        var modified: Int64
        var changed: Int64
    }

    public let capacity: Int
    private let hashes = Mutex<[Key: String]>([:])

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func hash(for key: Key) -> String? {
        hashes.withLock { hashes in
            let known = hashes[key]
            if known != nil { hits.add(1, ordering: .relaxed) }
            return known
        }
    }

    /// Hashes answered from the memo instead of the file.
    public var answered: Int { hits.load(ordering: .relaxed) }
    private let hits = Atomic<Int>(0)

    func remember(_ hash: String, for key: Key) {
        hashes.withLock { hashes in
            if hashes.count >= capacity { hashes.removeAll(keepingCapacity: true) }
            hashes[key] = hash
        }
    }

    /// Files remembered.
    public var count: Int { hashes.withLock { $0.count } }
}

public struct EvidenceCheck: Sendable, Codable, Equatable {
    public var path: String
    public var sha256: String
    public var bytes: UInt64
    /// Its content hashes to the recorded value now.
    public var verified: Bool
}

extension EvidenceFolder {
    /// The hosts a folder's manifest names, read without hashing anything; none if it has no manifest.
    public static func hosts(_ folder: String) -> [String] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = FileManager.default.contents(atPath: folder + "/manifest.json"),
              let manifest = try? decoder.decode(EvidenceManifest.self, from: data) else { return [] }
        return manifest.hosts.map(\.host)
    }

    /// The folder's manifest, and every file of its SHA256SUMS hashed again (or, with `memo`, once
    /// while its size, modification time and inode stay the same). A listed file that is gone, or a
    /// line naming a path outside the folder, does not verify.
    public static func verify(_ folder: String, memo: HashMemo? = nil) throws -> (manifest: EvidenceManifest, files: [EvidenceCheck]) {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest = try decoder.decode(EvidenceManifest.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
        let files = try sums(folder).map { path, expected -> EvidenceCheck in
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains(".."),
                  let (sha256, bytes) = try? hash(folder + "/" + path, memo: memo) else {
                return EvidenceCheck(path: path, sha256: expected, bytes: 0, verified: false)
            }
            return EvidenceCheck(path: path, sha256: expected, bytes: bytes, verified: sha256 == expected)
        }
        return (manifest, files)
    }

    /// A file's SHA-256 and size, from `memo` when the file is as it was when last hashed.
    static func hash(_ path: String, memo: HashMemo?) throws -> (sha256: String, bytes: UInt64) {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        func nanoseconds(_ time: timespec) -> Int64 { Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec) }
        // The change time too: a rewrite can set the modification time back, never the change time.
        let key = HashMemo.Key(path: path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), bytes: Int64(status.st_size),
                               modified: nanoseconds(status.st_mtim), changed: nanoseconds(status.st_ctim))
        if let known = memo?.hash(for: key) { return (known, UInt64(status.st_size)) }
        let described = try describe(path, relativeTo: "")
        // Remembered only when the file did not change while it was read, and did not change in the
        // last 2 s (a write within the file system's timestamp tick would keep the same times).
        var after = stat()
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        if stat(path, &after) == 0, after.st_size == status.st_size, nanoseconds(after.st_mtim) == key.modified,
           nanoseconds(after.st_ctim) == key.changed, after.st_ino == status.st_ino, now - max(key.modified, key.changed) > 2_000_000_000 {
            memo?.remember(described.sha256, for: key)
        }
        return (described.sha256, described.bytes)
    }

    /// The paths the folder's SHA256SUMS lists, without hashing them (for serving one of them).
    public static func listedPaths(_ folder: String) throws -> [String] {
        try sums(folder).map(\.path)
    }

    /// SHA256SUMS as (path, recorded hash) pairs, in its order.
    private static func sums(_ folder: String) throws -> [(path: String, sha256: String)] {
        try String(contentsOfFile: folder + "/SHA256SUMS", encoding: .utf8).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (parts[1].trimmingCharacters(in: .whitespaces), String(parts[0]))
        }
    }

    /// The dated folders under `directory` kept for `environment`, newest first.
    public static func list(in directory: String, environment: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        // `ENV-20261204T101010Z`: not a copy's `ENV-i2-2026...`, nor `ENV-2`'s `ENV-2-2026...`.
        return names.filter { EvidenceStore.parse($0)?.environment == environment && EvidenceStore.isEvidenceFolder(directory + "/" + $0) }
            .sorted(by: >)
    }
}
