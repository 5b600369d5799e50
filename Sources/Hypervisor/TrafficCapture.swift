import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running packet capture of one network's bridge, as the tool tracks it.
public struct Capture: Sendable, Codable, Equatable {
    public var environment: String
    public var network: String
    public var bridge: String
    public var pid: Int32
    public var file: String
    public var started: Date
}

/// Packet captures of networks' bridges: processes the tool starts, tracks and stops, so that none
/// outlives its environment.
public protocol TrafficCapture: Sendable {
    /// The captures tracked for `environment` whose process still runs.
    func running(environment: String) -> [Capture]
    /// Starts recording `bridge` of `network`; returns once the capture listens.
    func start(environment: String, network: String, bridge: String) throws -> Capture
    /// Stops a capture and waits until its file is complete.
    func stop(_ capture: Capture) throws
    /// Stops every capture of the environment and forgets them; with `deleteFiles`, removes its pcap files too.
    func stopAll(environment: String, deleteFiles: Bool) throws
    /// Whether anything of the environment's captures (processes or files) is left.
    func hasState(environment: String) -> Bool
}

/// tcpdump in the network namespace of the libvirtd that owns the bridges (found from its pid),
/// started in a session of its own so that neither Ctrl-C nor the end of the command stops it.
/// Each capture is tracked by a small JSON file beside its pcap files.
public final class LocalTrafficCapture: TrafficCapture {
    public let root: String

    public init(root: String = "/var/lib/decoynet/captures") {
        self.root = root
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private func folder(_ environment: String) -> String { root + "/" + environment }

    private func trackingFile(_ environment: String, _ network: String) -> String { folder(environment) + "/" + network + ".capture.json" }

    public func running(environment: String) -> [Capture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(environment))) ?? []
        return names.filter { $0.hasSuffix(".capture.json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: folder(environment) + "/" + name),
                  let capture = try? JSONRecords.decoder.decode(Capture.self, from: data) else { return nil }
            return Self.isAlive(capture.pid) ? capture : nil
        }
    }

    public func start(environment: String, network: String, bridge: String) throws -> Capture {
        try FileManager.default.createDirectory(atPath: folder(environment), withIntermediateDirectories: true)
        guard let tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].first(where: FileManager.default.isExecutableFile) else {
            throw Failure(description: "tcpdump is not installed (apt-get install tcpdump)")
        }
        let started = Date()
        let stamp = Self.stampFormatter.string(from: started)
        let file = folder(environment) + "/\(network)-\(stamp).pcap"
        var arguments = [tcpdump, "-i", bridge, "-U", "-Z", "root", "-w", file]
        if let namespace = Self.libvirtdNamespace() {
            arguments = ["/usr/bin/nsenter", "--net=\(namespace)"] + arguments
        }
        let pid = try Self.spawnDetached(arguments, log: folder(environment) + "/\(network).capture.log")
        // tcpdump creates its file once it listens; give up if it exits first.
        let deadline = Date().addingTimeInterval(5)
        while !FileManager.default.fileExists(atPath: file) {
            if !Self.isAlive(pid) {
                let log = (try? String(contentsOfFile: folder(environment) + "/\(network).capture.log", encoding: .utf8)) ?? ""
                throw Failure(description: "tcpdump on \(bridge) exited: \(log.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            if Date() > deadline { break }
            usleep(20000)
        }
        let capture = Capture(environment: environment, network: network, bridge: bridge, pid: pid, file: file, started: started)
        try JSONRecords.encoder.encode(capture).write(to: URL(fileURLWithPath: trackingFile(environment, network)))
        return capture
    }

    public func stop(_ capture: Capture) throws {
        if Self.isAlive(capture.pid) {
            kill(capture.pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while Self.isAlive(capture.pid), Date() < deadline { usleep(20000) }
            if Self.isAlive(capture.pid) { kill(capture.pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: trackingFile(capture.environment, capture.network))
    }

    public func stopAll(environment: String, deleteFiles: Bool) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(environment))) ?? []
        for name in names where name.hasSuffix(".capture.json") {
            if let data = FileManager.default.contents(atPath: folder(environment) + "/" + name),
               let capture = try? JSONRecords.decoder.decode(Capture.self, from: data) {
                try stop(capture)
            }
        }
        if deleteFiles { try? FileManager.default.removeItem(atPath: folder(environment)) }
    }

    public func hasState(environment: String) -> Bool {
        FileManager.default.fileExists(atPath: folder(environment))
    }

    /// A process that is ours and not a zombie (reaped or not, a zombie has stopped capturing).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 else { return false }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !status.contains(") Z ")
    }

    /// The network namespace of the running libvirtd, where its bridges are.
    static func libvirtdNamespace() -> String? {
        let pidText = (try? String(contentsOfFile: "/run/libvirtd.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pidText, let pid = Int32(pidText), isAlive(pid) else { return nil }
        let path = "/proc/\(pid)/ns/net"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Starts `arguments` in a new session, detached from this process's terminal and signals.
    public static func spawnDetached(_ arguments: [String], log: String) throws -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (0x80, hidden behind _GNU_SOURCE), and a clean signal state, so that
        // the SIGTERM that stops the capture is not blocked or ignored.
        ChildSignals.reset(&attributes, flags: 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process (libvirt's sockets, pipes to whoever started it) goes along.
        let inherited = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
        for descriptor in inherited where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    static let stampFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return formatter
    }()

}
