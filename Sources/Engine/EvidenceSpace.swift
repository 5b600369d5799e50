import Foundation
import LibvirtXML

/// Whether an evidence folder's disk can hold what a reset is about to keep, asked before any
/// host is stopped: a reset that ran out of space half-way would leave hosts stopped and evidence
/// split between the pool and the folder.
public struct EvidenceSpace: Sendable, Equatable {
    /// Bytes the reset will write into the evidence folder's file system.
    public var needed: UInt64
    /// Bytes free on that file system for anyone but root: the blocks reserved for root are not
    /// evidence's to take (DecoyNet runs as root, and a disk filled to its last block pauses every
    /// guest whose overlay is on it).
    public var available: UInt64

    /// What stays free after the evidence: the guests keep writing into their overlays.
    public static let reserve: UInt64 = 1 << 30

    /// What every kept file costs beside the overlays, memory and captures: definitions, leases, logs.
    static let smallFilesPerHost: UInt64 = 1 << 20

    /// The space a reset keeping `files` (moved from where they are now) and `written` new bytes
    /// needs under `directory`, and what its file system has free. A file on the same file system
    /// is renamed into the folder and costs nothing.
    public static func measure(directory: String, moved files: [String], written: UInt64) throws -> EvidenceSpace {
        let existing = nearestExisting(directory)
        var target = stat()
        guard stat(existing, &target) == 0 else { throw posixError(existing) }
        var needed = written
        for file in files {
            var info = stat()
            guard stat(file, &info) == 0 else { continue }
            if info.st_dev != target.st_dev {
                needed += UInt64(max(info.st_size, 0))
            }
        }
        var system = statvfs()
        guard statvfs(existing, &system) == 0 else { throw posixError(existing) }
        return EvidenceSpace(needed: needed, available: UInt64(system.f_bavail) * UInt64(system.f_frsize))
    }

    /// Bytes free for anyone but root on the file system holding `path` (or its nearest existing
    /// folder); nil when it cannot be read.
    public static func free(at path: String) -> UInt64? {
        var system = statvfs()
        guard statvfs(nearestExisting(path), &system) == 0 else { return nil }
        return UInt64(system.f_bavail) * UInt64(system.f_frsize)
    }

    /// The evidence fits and leaves `reserve` free.
    public var suffices: Bool { needed + Self.reserve <= available }

    /// The guest's memory in bytes from its definition (`<memory unit=...>`), what a dump writes.
    static func memoryBytes(definition: String) -> UInt64 {
        guard let domain = XMLElement.parse(definition), let memory = domain.child("memory"),
              let text = memory.text, let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else { return 0 }
        // An unknown unit counts as KiB, libvirt's own for memory.
        return value << (ByteCount.shift(memory[attribute: "unit"] ?? "KiB") ?? 10)
    }

    private static func nearestExisting(_ path: String) -> String {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    private static func posixError(_ path: String) -> Error {
        CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
    }
}

/// Sizes as people read them: `512 B`, `3.2 MiB`, `1.5 GiB`.
public enum ByteCount {
    public static func text(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// A libvirt size element's bytes (`<memory unit="KiB">`, `<capacity unit="bytes">`), `unit`
    /// when the element has none; nil when it is not a number or its unit is unknown.
    static func bytes(of element: XMLElement, defaultUnit: String) -> UInt64? {
        guard let text = element.text, let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return shift(element[attribute: "unit"] ?? defaultUnit).map { value << $0 }
    }

    /// log2 of a libvirt binary unit.
    static func shift(_ unit: String) -> UInt64? {
        switch unit {
        case "b", "B", "bytes": 0
        case "k", "K", "KiB": 10
        case "M", "MiB": 20
        case "G", "GiB": 30
        case "T", "TiB": 40
        default: nil
        }
    }
}
