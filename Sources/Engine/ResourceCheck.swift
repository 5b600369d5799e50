import Foundation
import Planner

/// Whether this machine has the memory and disk that a plan's new and started hosts need, checked
/// before anything is created: a plan that does not fit fails at once with the figures, instead of
/// an hour later with guests killed by the kernel's out-of-memory killer.
public enum ResourceCheck {
    public struct Needs: Sendable, Equatable {
        public var hosts: Int
        public var memoryMiB: UInt64
        public var diskMiB: UInt64

        public init(hosts: Int, memoryMiB: UInt64, diskMiB: UInt64) {
            self.hosts = hosts
            self.memoryMiB = memoryMiB
            self.diskMiB = diskMiB
        }
    }

    public struct Available: Sendable, Equatable {
        public var memoryMiB: UInt64
        public var diskMiB: UInt64
        public var diskPath: String

        public init(memoryMiB: UInt64, diskMiB: UInt64, diskPath: String) {
            self.memoryMiB = memoryMiB
            self.diskMiB = diskMiB
            self.diskPath = diskPath
        }
    }

    /// What a host's overlay grows by in its first boots (a server's first boot writes ~30 MiB),
    /// plus its seed.
    public static let diskPerHostMiB: UInt64 = 64

    /// Hosts the plans create, replace or start (running ones already hold their memory).
    public static func needs(_ planned: [(plan: Plan, desired: DesiredState)]) -> Needs {
        var needs = Needs(hosts: 0, memoryMiB: 0, diskMiB: 0)
        for (plan, desired) in planned {
            let domains = Dictionary(desired.domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for action in plan.actions where action.resource == .domain && [.create, .replace, .start].contains(action.kind) {
                guard let domain = domains[action.name] else { continue }
                needs.hosts += 1
                needs.memoryMiB += domain.hostMemoryMiB
                if action.kind != .start { needs.diskMiB += diskPerHostMiB }
            }
        }
        return needs
    }

    /// This machine's available memory (`MemAvailable`) and the free space under `poolRoot`.
    public static func available(poolRoot: String) -> Available? {
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kib = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        var path = poolRoot
        while !FileManager.default.fileExists(atPath: path), path != "/" { path = (path as NSString).deletingLastPathComponent }
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Available(memoryMiB: kib / 1024, diskMiB: UInt64(stats.f_bavail) * UInt64(stats.f_frsize) / (1 << 20), diskPath: path)
    }

    /// The problems, each with its figures; empty when the plan fits. `overcommit` multiplies the
    /// available memory (guests rarely touch all of theirs, and KSM merges identical pages).
    public static func problems(_ needs: Needs, available: Available, overcommit: Double) -> [String] {
        var problems: [String] = []
        let allowed = UInt64(Double(available.memoryMiB) * overcommit)
        if needs.memoryMiB > allowed {
            problems.append("\(needs.hosts) hosts need \(needs.memoryMiB) MiB of memory (guests, TCG caches and QEMU); this machine has \(available.memoryMiB) MiB available"
                + String(format: ", %.2fx of which is %llu MiB", overcommit, allowed)
                + "; give hosts less memory, apply fewer copies, or allow more with --overcommit")
        }
        if needs.diskMiB > available.diskMiB {
            problems.append("\(needs.hosts) hosts need about \(needs.diskMiB) MiB of disk for their overlays; \(available.diskPath) has \(available.diskMiB) MiB free")
        }
        return problems
    }
}
