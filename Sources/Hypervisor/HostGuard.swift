import Foundation

/// Closes the host to its guests. libvirt lets a guest's packets to the host through its network's
/// bridge (DHCP and DNS), but nothing stops the rest: every port the host listens on, on any of
/// its addresses (another network's bridge address included), answers a guest that asks. Malware
/// in a decoy must not reach the machine that runs it.
///
/// An nftables table of its own, `inet decoynet_guard`, on the input hook: packets coming in from
/// DecoyNet's bridges (`dn-*`) reach the host only as DHCP, as DNS to the address of the bridge they
/// came in on, or as replies to what the host itself opened (health probes, DNS forwarding).
/// Forwarded traffic (`nat`, `routed`) does not pass the input hook: each environment's own table keeps it
/// (`ForwardRules`).
public enum HostGuard {
    public static let table = "decoynet_guard"

    /// The table, replaced whole each time (idempotent; `nft -f` applies a file atomically).
    public static let ruleset = """
        table inet \(table)
        delete table inet \(table)
        table inet \(table) {
            chain input {
                type filter hook input priority filter; policy accept;
                iifname != "dn-*" accept
                ct state established,related accept
                udp dport 67 accept
                fib daddr . iif type local udp dport 53 accept
                fib daddr . iif type local tcp dport 53 accept
                counter drop
            }
        }

        """

    /// Installs the table in this process's network namespace (where libvirtd and the bridges
    /// are); returns what went wrong, or nil.
    public static func install() -> String? {
        load(ruleset)
    }

    /// The tables loaded in this process's network namespace, as `FAMILY NAME` (`inet decoynet_guard`);
    /// what went wrong when nft cannot tell.
    public static func tables() -> Result<Set<String>, GuardProblem> {
        do {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
            process.arguments = ["list", "tables"]
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let listed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                return .failure(GuardProblem("nft list tables failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))"))
            }
            return .success(Set(listed.split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ")
                return words.count == 3 && words[0] == "table" ? "\(words[1]) \(words[2])" : nil
            }))
        } catch {
            return .failure(GuardProblem("could not run /usr/sbin/nft (install nftables): \(error.localizedDescription)"))
        }
    }

    public struct GuardProblem: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Runs `nft -c -f` on a ruleset (checked, nothing loaded); returns what nft refused, or nil.
    public static func check(_ ruleset: String) -> String? {
        load(ruleset, checkOnly: true)
    }

    /// Runs `nft -f` on a ruleset; returns what went wrong, or nil.
    public static func load(_ ruleset: String) -> String? {
        load(ruleset, checkOnly: false)
    }

    private static func load(_ ruleset: String, checkOnly: Bool) -> String? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-guard-\(getpid())-\(UInt32.random(in: 0 ... .max)).nft").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            try ruleset.write(toFile: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
            process.arguments = checkOnly ? ["-c", "-f", file] : ["-f", file]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return "nft -f refused the rules: \(message.trimmingCharacters(in: .whitespacesAndNewlines))" }
            return nil
        } catch {
            return "could not run /usr/sbin/nft (install nftables): \(error.localizedDescription)"
        }
    }
}
