import Foundation

/// The IPv4 routes of the network namespace libvirtd runs in: libvirt refuses to start a network
/// whose subnet is already routed there, so the deployer checks before creating anything.
public enum HostRoutes {
    public struct Route: Sendable, Equatable {
        public var interface: String
        /// Network address and prefix length, as numbers (`Topology` types live above this layer).
        public var destination: UInt32
        public var prefixLength: Int

        public init(interface: String, destination: UInt32, prefixLength: Int) {
            self.interface = interface
            self.destination = destination
            self.prefixLength = prefixLength
        }
    }

    /// Routes other than the default one, from `/proc/PID/net/route` of the running libvirtd
    /// (or of this process when none is found).
    public static func read() -> [Route] {
        var path = "/proc/net/route"
        if let text = try? String(contentsOfFile: "/run/libvirtd.pid", encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
           FileManager.default.fileExists(atPath: "/proc/\(pid)/net/route") {
            path = "/proc/\(pid)/net/route"
        }
        guard let table = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return parse(table)
    }

    /// Parses the kernel's table: hexadecimal addresses in host (little-endian) byte order.
    public static func parse(_ table: String) -> [Route] {
        table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else { return nil }
            let prefix = mask.nonzeroBitCount
            guard prefix > 0 else { return nil }
            return Route(interface: String(fields[0]), destination: destination.byteSwapped, prefixLength: prefix)
        }
    }
}
