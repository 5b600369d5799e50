import Foundation
import Hypervisor
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The lab of `make lab`: libvirtd inside the network namespace `decoynet-lab`. `make test` brings
/// it up and sets `DECOYNET_LAB=1`; without it these tests say why they did not run.
enum Lab {
    static let namespace = "decoynet-lab"
    static let enabled = ProcessInfo.processInfo.environment["DECOYNET_LAB"] == "1"
    static let projectRoot = BuiltBinary.projectRoot
    static let binary = BuiltBinary.decoynet

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program and waits for it (at most `timeout` seconds, then it is killed).
    ///
    /// posix_spawn and waitpid rather than Foundation's Process, whose reaper was seen to miss the
    /// exit of a child that had started a detached grandchild (a packet capture), hanging the test.
    @discardableResult
    static func run(_ arguments: [String], timeout: Double = 600) throws -> Output {
        try start(arguments).wait(timeout: timeout)
    }

    /// A program left running, to be waited for later.
    struct Running {
        var pid: pid_t
        var folder: String

        /// Waits for the program (at most `timeout` seconds, then it is killed) and returns its output.
        func wait(timeout: Double = 600) throws -> Output {
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(timeout)
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline { kill(pid, SIGKILL) }
                usleep(20000)
            }
            let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            let stdout = (try? String(contentsOfFile: folder + "/out", encoding: .utf8)) ?? ""
            let stderr = (try? String(contentsOfFile: folder + "/err", encoding: .utf8)) ?? ""
            return Output(status: exit, stdout: stdout, stderr: stderr)
        }
    }

    /// Starts a program without waiting for it.
    static func start(_ arguments: [String]) throws -> Running {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-run-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, folder + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, folder + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = (["/usr/bin/env", "LIBVIRT_DEFAULT_URI=qemu:///system"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        // A clean signal state: a daemon started from the test's thread (libvirtd) would inherit
        // its blocked signals and never stop on SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        ChildSignals.reset(&attributes)
        let result = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, environ)
        guard result == 0 else {
            try? FileManager.default.removeItem(atPath: folder)
            throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL)
        }
        return Running(pid: pid, folder: folder)
    }

    /// `decoynet ARGS` in the namespace, left running.
    static func startDecoynet(_ arguments: [String]) throws -> Running {
        try start(["ip", "netns", "exec", namespace, binary] + arguments)
    }

    /// Stops the lab's libvirtd and starts it again, as a package upgrade or an operator would;
    /// guests keep running. Returns once the new one answers.
    static func restartLibvirtd() throws {
        let old = try run(["pgrep", "-x", "libvirtd"], timeout: 10).stdout.split(separator: "\n").first.flatMap { pid_t(String($0)) }
        if let old {
            kill(old, SIGTERM)
            let deadline = Date().addingTimeInterval(20)
            while kill(old, 0) == 0, Date() < deadline { usleep(50000) }
            // One that ignores SIGTERM is killed: a restart is what the tests need.
            if kill(old, 0) == 0 {
                kill(old, SIGKILL)
                while kill(old, 0) == 0 { usleep(50000) }
            }
        }
        _ = try run(["ip", "netns", "exec", namespace, "libvirtd", "-d"], timeout: 30)
        let deadline = Date().addingTimeInterval(30)
        while try run(["virsh", "-c", "qemu:///system", "version"], timeout: 10).status != 0, Date() < deadline { usleep(200000) }
        let new = try run(["pgrep", "-x", "libvirtd"], timeout: 10).stdout.split(separator: "\n").first.flatMap { pid_t(String($0)) }
        guard let new, new != old else { throw RestartFailure(message: "libvirtd was not restarted (pid \(old.map(String.init) ?? "none") before, \(new.map(String.init) ?? "none") after)") }
    }

    struct RestartFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// `decoynet ARGS` inside the lab's namespace, as users run it to reach guests.
    @discardableResult
    static func decoynet(_ arguments: [String], timeout: Double = 600) throws -> Output {
        try run(["ip", "netns", "exec", namespace, binary] + arguments, timeout: timeout)
    }

    /// An HTTP GET from inside the namespace, with curl (which the lab installs).
    static func httpGet(_ address: String) throws -> String {
        try run(["ip", "netns", "exec", namespace, "curl", "-s", "--max-time", "5", "http://\(address)/"], timeout: 20).stdout
    }

    static func virsh(_ arguments: [String]) throws -> String {
        try run(["virsh", "-c", "qemu:///system"] + arguments, timeout: 60).stdout
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    /// The second octet the tests' topologies use instead of quickstart's 77, so that they never
    /// meet a demo left running (`make demo` then `make test`): copies take the next ones.
    static let octet = 177

    /// `10.177.1.2` for `address("1.2")`.
    static func address(_ tail: String, copy: Int = 0) -> String { "10.\(octet + copy).\(tail)" }

    /// A copy of a project topology under another environment name and the tests' addresses, with
    /// edits, in a scratch folder.
    static func topology(_ name: String, as environment: String, edit: (String) -> String = { $0 }) throws -> String {
        let source = try String(contentsOfFile: projectRoot + "/topologies/" + name, encoding: .utf8)
        let renamed = source.replacingOccurrences(of: "\nname: quickstart\n", with: "\nname: \(environment)\n")
            .replacingOccurrences(of: "10.77.", with: "10.\(octet).")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + name
        try Data(edit(renamed).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Everything of an environment that could be left behind on the host.
    static func leftovers(_ environment: String) throws -> [String] {
        var found: [String] = []
        found += try virsh(["list", "--all", "--name"]).split(separator: "\n").map(String.init).filter { $0.hasPrefix(environment + "-") }.map { "domain \($0)" }
        found += try virsh(["net-list", "--all", "--name"]).split(separator: "\n").map(String.init).filter { $0.hasPrefix(environment + "-") }.map { "network \($0)" }
        found += try virsh(["pool-list", "--all", "--name"]).split(separator: "\n").map(String.init).filter { $0 == "decoynet-" + environment }.map { "pool \($0)" }
        found += try run(["pgrep", "-f", "dnsmasq/\(environment)-"], timeout: 10).stdout.split(separator: "\n").map { "dnsmasq \($0)" }
        let configs = (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/libvirt/dnsmasq")) ?? []
        found += configs.filter { $0.hasPrefix(environment + "-") }.map { "dnsmasq file \($0)" }
        if FileManager.default.fileExists(atPath: "/var/lib/decoynet/captures/" + environment) { found.append("captures of \(environment)") }
        let table = "decoynet_env_" + environment.replacingOccurrences(of: "-", with: "_")
        if try run(["ip", "netns", "exec", namespace, "nft", "list", "table", "bridge", table], timeout: 10).status == 0 { found.append("nftables table \(table)") }
        let forward = "decoynet_net_" + environment.replacingOccurrences(of: "-", with: "_")
        if try run(["ip", "netns", "exec", namespace, "nft", "list", "table", "inet", forward], timeout: 10).status == 0 { found.append("nftables table \(forward)") }
        if FileManager.default.fileExists(atPath: "/var/lib/decoynet/isolation/\(environment).nft") { found.append("file /var/lib/decoynet/isolation/\(environment).nft") }
        if FileManager.default.fileExists(atPath: "/var/lib/decoynet/pools/" + environment) { found.append("folder /var/lib/decoynet/pools/\(environment)") }
        found += try run(["pgrep", "-f", "decoynet watcher \(environment) "], timeout: 10).stdout.split(separator: "\n").map { "watcher \($0)" }
        return found
    }

    /// Every network interface in the lab's namespace (bridges, taps): what must be the same
    /// before an apply and after its destroy.
    static func interfaces() throws -> Set<String> {
        Set(try run(["ip", "-n", namespace, "-o", "link", "show"], timeout: 20).stdout
            .split(separator: "\n").compactMap { $0.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } })
    }

    static func bridges() throws -> [String] {
        try run(["ip", "-n", namespace, "-o", "link", "show", "type", "bridge"], timeout: 20).stdout
            .split(separator: "\n").compactMap { $0.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } }
    }
}
