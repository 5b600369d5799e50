import Foundation
import LibvirtXML

/// Whether an evidence folder's disk can hold what a reset is about to keep, asked before any
/// host is stopped: a reset that ran out of space half-way would leave hosts stopped and evidence
/// split between the pool and the folder.
public struct EvidenceSpace: Sendable, Equatable {
    /// Bytes the reset will write into the evidence folder's file system.
    public var needed: UInt64
    /// Bytes free on that file system, counting the blocks reserved for root (DecoyNet runs as root).
    public var available: UInt64

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
        return EvidenceSpace(needed: needed, available: UInt64(system.f_bfree) * UInt64(system.f_frsize))
    }

    public var suffices: Bool { needed <= available }

    /// The guest's memory in bytes from its definition (`<memory unit=...>`), what a dump writes.
    static func memoryBytes(definition: String) -> UInt64 {
        guard let domain = XMLElement.parse(definition), let memory = domain.child("memory"),
              let text = memory.text, let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else { return 0 }
        switch memory[attribute: "unit"] ?? "KiB" {
        case "b", "bytes": return value
        case "KiB", "k": return value << 10
        case "MiB", "M": return value << 20
        case "GiB", "G": return value << 30
        default: return value << 10
        }
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

/// Sizes in the unit a person reads them in: `512 KiB`, `3.2 MiB`, `1.5 GiB`.
func readableBytes(_ bytes: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) bytes" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
}
