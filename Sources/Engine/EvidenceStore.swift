import Foundation

/// Evidence folders as what they cost: the disk they take, how old they are, and their removal
/// (for quotas, retention and `decoynet evidence rm`).
public enum EvidenceStore {
    /// One kept evidence folder (`ENV-YYYYMMDDTHHMMSSZ`, with `-N` when two came in one second).
    public struct Folder: Sendable, Codable, Equatable {
        public var name: String
        public var environment: String
        /// When its reset began (from its name).
        public var created: Date
        /// What its files take on disk (allocated blocks: a sparse memory dump counts what it holds).
        public var bytes: UInt64

        public init(name: String, environment: String, created: Date, bytes: UInt64) {
            self.name = name
            self.environment = environment
            self.created = created
            self.bytes = bytes
        }
    }

    /// Every evidence folder under `directory` (those with a `manifest.json`), oldest first;
    /// `environment` keeps only that environment's.
    public static func folders(in directory: String, environment: String? = nil) -> [Folder] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Folder? in
            let path = directory + "/" + name
            guard let (owner, created) = parse(name), isEvidenceFolder(path) else { return nil }
            if let environment, owner != environment { return nil }
            return Folder(name: name, environment: owner, created: created, bytes: bytes(of: path))
        }
        .sorted { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// Bytes the evidence of `environment` takes under `directory`.
    public static func usage(in directory: String, environment: String) -> UInt64 {
        folders(in: directory, environment: environment).reduce(0) { $0 + $1.bytes }
    }

    /// Bytes on disk of everything under `path`, symbolic links not followed.
    public static func bytes(of path: String) -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        var total = UInt64(max(info.st_blocks, 0)) * 512
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return total }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            total += bytes(of: path + "/" + name)
        }
        return total
    }

    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    /// `path` without trailing slashes: `lstat("link/")` follows the link, `lstat("link")` does not.
    static func trimmed(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return String(path)
    }

    /// A real folder (not a link to one) holding a `manifest.json` (what a reset keeps), or the
    /// `marker` file given (`snapshot.json`: what a snapshot keeps).
    public static func isEvidenceFolder(_ path: String, marker: String = "manifest.json") -> Bool {
        let path = trimmed(path)
        var folder = stat(), manifest = stat()
        return lstat(path, &folder) == 0 && (folder.st_mode & S_IFMT) == S_IFDIR
            && lstat(path + "/" + marker, &manifest) == 0 && (manifest.st_mode & S_IFMT) == S_IFREG
    }

    /// Removes one evidence folder (one holding `marker`), sealed as it is (folders 0500, files
    /// 0400). Anything else is refused: a folder without its marker, a link, a file.
    public static func remove(_ path: String, marker: String = "manifest.json") throws {
        let path = trimmed(path)
        guard isEvidenceFolder(path, marker: marker) else {
            throw Refusal(description: "\(path) is not an evidence folder (a folder with a \(marker), as "
                + (marker == "manifest.json" ? "reset --evidence" : "a snapshot") + " makes): nothing removed")
        }
        try removeSealed(path)
    }

    /// Removes the real folder `path` and everything in it, sealed or not; a link is refused.
    static func removeSealed(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw Refusal(description: "\(path) is not a folder: nothing removed")
        }
        let manager = FileManager.default
        // Opened again from the top down, so that its folders can be emptied without root's override.
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        for relative in try manager.subpathsOfDirectory(atPath: path) {
            var info = stat()
            if lstat(path + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path + "/" + relative)
            }
        }
        try manager.removeItem(atPath: path)
    }

    /// What a copy given to a new student kept from the one before, moved aside into
    /// `.retired/ENV-YYYYMMDDTHHMMSSZ` of a folder (evidence, snapshots, runs): its environment,
    /// when it was retired, and what it takes on disk.
    /// Also read: `ENV-YYYY-MM-DDTHHMMSSZ`, as servers before 2026-12-04 named them.
    public static func retired(in directory: String) -> [Folder] {
        let root = directory + "/.retired"
        // Only a real folder: a link would have the retention remove whatever it points to.
        var top = stat()
        guard lstat(root, &top) == 0, (top.st_mode & S_IFMT) == S_IFDIR else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name -> Folder? in
            var info = stat()
            guard let (environment, retired) = parse(name) ?? parseExtended(name), lstat(root + "/" + name, &info) == 0,
                  (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return Folder(name: name, environment: environment, created: retired, bytes: bytes(of: root + "/" + name))
        }
        .sorted { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// Removes what was retired under `directory` before `date`.
    @discardableResult
    public static func pruneRetired(in directory: String, before date: Date) -> Pruned {
        var pruned = Pruned()
        for folder in retired(in: directory) where folder.created < date {
            do {
                try removeSealed(directory + "/.retired/" + folder.name)
                pruned.removed.append(folder)
            } catch {
                pruned.failed.append((folder, "\(error)"))
            }
        }
        return pruned
    }

    /// What `prune` removed, and the folders it could not remove with why (the others are removed
    /// all the same: one folder that resists does not keep the rest).
    public struct Pruned: Sendable {
        public var removed: [Folder] = []
        public var failed: [(folder: Folder, problem: String)] = []

        public init() {}
    }

    /// Removes the folders created before `date` (of `environment` only, when given).
    @discardableResult
    public static func prune(in directory: String, before date: Date, environment: String? = nil) -> Pruned {
        var pruned = Pruned()
        for folder in folders(in: directory, environment: environment) where folder.created < date {
            do {
                try remove(directory + "/" + folder.name)
                pruned.removed.append(folder)
            } catch {
                pruned.failed.append((folder, "\(error)"))
            }
        }
        return pruned
    }

    /// The environment and time a folder's name holds (`ENV-YYYYMMDDTHHMMSSZ` or `...Z-N`, as
    /// `reset --evidence` names them); nil for any other name.
    public static func parse(_ name: String) -> (environment: String, created: Date)? {
        var parts = name.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 3, let last = parts.last, !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }) { parts.removeLast() }
        guard parts.count >= 2, let stamp = parts.last, let date = basicTime(stamp) else { return nil }
        let environment = parts.dropLast().joined(separator: "-")
        return environment.isEmpty ? nil : (environment, date)
    }

    /// `ENV-YYYY-MM-DDTHHMMSSZ` (an earlier server's retired folders): the environment and time.
    static func parseExtended(_ name: String) -> (environment: String, created: Date)? {
        let characters = Array(name)
        // "-2026-12-04T044934Z" is 19 characters; the environment comes before it.
        guard characters.count > 19, characters[characters.count - 19] == "-", characters[characters.count - 14] == "-",
              characters[characters.count - 11] == "-" else { return nil }
        let stamp = String(characters[(characters.count - 18)...]).replacingOccurrences(of: "-", with: "")
        guard let date = basicTime(stamp) else { return nil }
        return (String(characters[..<(characters.count - 19)]), date)
    }

    /// The date in `YYYYMMDDTHHMMSSZ` (as `TimelineEvent.basicTime` writes it), nil for other text.
    static func basicTime(_ text: String) -> Date? {
        let characters = Array(text)
        guard characters.count == 16, characters[8] == "T", characters[15] == "Z" else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            let digits = characters[range]
            return digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? Int(String(digits)) : nil
        }
        guard let year = number(0 ..< 4), let month = number(4 ..< 6), let day = number(6 ..< 8),
              let hour = number(9 ..< 11), let minute = number(11 ..< 13), let second = number(13 ..< 15) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
