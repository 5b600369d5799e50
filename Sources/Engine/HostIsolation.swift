import Compiler
import Foundation
import Hypervisor
import Naming

/// No guest starts without its environment's firewall tables in place, checked rather than assumed.
///
/// Three kinds of table keep guests where they belong: the host's guard (`inet decoynet_guard`: the
/// host's own ports), and per environment its anti-spoofing table (`bridge decoynet_env_ENV`,
/// `SpoofingRules`) and its forward table (`inet decoynet_net_ENV`, `ForwardRules`). apply writes
/// the environment's two as one `nft -f` file under `Naming.isolationRoot` and loads it with the
/// guard; every later start (a reset, a restart by the boot scheduler, a host an interrupted reset
/// left stopped) first lists the host's tables and, when any is missing (the ruleset was flushed,
/// by hand or by another firewall), loads them again from that file. When they cannot be loaded,
/// nothing starts: a guest that could reach the host or another environment is worse than a guest
/// that is off.
public struct HostIsolation: Sendable {
    /// Where the environments' files are kept.
    public var root: String

    public init(root: String = Naming.isolationRoot) {
        self.root = root
    }

    public func file(environment: String) -> String { root + "/" + environment + ".nft" }

    /// What `ensure` found.
    public enum Outcome: Equatable, Sendable {
        case inPlace
        /// These tables were missing and are loaded again.
        case loadedAgain(missing: [String])
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The environment's file (its anti-spoofing and forward tables), as apply writes it.
    public static func ruleset(_ environment: ResolvedEnvironment) -> String {
        let spoofing = SpoofingRules.ruleset(environment) ?? removal("bridge", Naming.spoofingTable(environment: environment.name))
        let forward = ForwardRules.ruleset(environment) ?? removal("inet", Naming.forwardTable(environment: environment.name))
        return spoofing + forward
    }

    /// Checks every environment's rules with nft first (`nft -c`: nothing loaded), then loads each
    /// with the guard and records it: a refused ruleset changes neither the host's tables nor the
    /// record a later start loads again.
    public func prepare(_ environments: [ResolvedEnvironment]) throws(Failure) {
        let rulesets = environments.map { ($0.name, Self.ruleset($0)) }
        for (name, contents) in rulesets {
            if let problem = HostGuard.check(contents) { throw Failure(description: "the rules of \(name): \(problem)") }
        }
        for (name, contents) in rulesets {
            try load(contents, environment: name)
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                try Data(contents.utf8).write(to: URL(fileURLWithPath: file(environment: name)), options: .atomic)
            } catch {
                throw Failure(description: "could not write \(file(environment: name)): \(error.localizedDescription)")
            }
        }
    }

    /// Checks that the guard and the environment's tables are loaded. `reload` loads its file again
    /// whatever is listed (a table that is there may have been emptied or changed). A missing
    /// table means the host's ruleset was flushed: then every recorded environment's tables are
    /// loaded again, since their guests run behind them too.
    public func ensure(environment: String, reload: Bool = false) throws(Failure) -> Outcome {
        let contents = try recorded(environment)
        let missing = try Self.missing(from: contents)
        if missing.isEmpty {
            if reload { try load(contents, environment: environment) }
            return .inPlace
        }
        try load(contents, environment: environment)
        // The others' too, as far as they load: this environment's start does not wait on theirs.
        for other in recordedEnvironments() where other != environment {
            if let theirs = try? recorded(other) { try? load(theirs, environment: other) }
        }
        return .loadedAgain(missing: missing)
    }

    /// `ensure` on a thread of its own: nft runs as a child process, which must not hold one of the
    /// few threads every task shares.
    public func ensureDetached(environment: String) async -> Result<Outcome, Failure> {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do throws(Failure) {
                    continuation.resume(returning: .success(try ensure(environment: environment)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
    }

    /// The environments whose tables are recorded.
    func recordedEnvironments() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasSuffix(".nft") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The environment's recorded file.
    private func recorded(_ environment: String) throws(Failure) -> String {
        let path = file(environment: environment)
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "the firewall tables of \(environment) are not recorded (no \(path): it was applied by an earlier DecoyNet, "
                + "or the file was removed); apply its topology again to record them")
        }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot read \(path) (\(error.localizedDescription)); DecoyNet runs as root, beside libvirtd")
        }
    }

    /// Removes the environment's tables and its file; returns what went wrong, or nil.
    public func remove(environment: String) -> String? {
        let problem = HostGuard.load(Self.removal("bridge", Naming.spoofingTable(environment: environment))
            + Self.removal("inet", Naming.forwardTable(environment: environment)))
        try? FileManager.default.removeItem(atPath: file(environment: environment))
        return problem
    }

    /// Loads the guard and `contents`, then checks every table they declare is there.
    private func load(_ contents: String, environment: String) throws(Failure) {
        if let problem = HostGuard.install() { throw Failure(description: problem) }
        if let problem = HostGuard.load(contents) { throw Failure(description: problem) }
        let missing = try Self.missing(from: contents)
        guard missing.isEmpty else {
            throw Failure(description: "nft loaded the rules of \(environment) but lists no \(missing.joined(separator: ", "))")
        }
    }

    /// Those of the tables `contents` declares (and the guard) that nft does not list.
    static func missing(from contents: String) throws(Failure) -> [String] {
        switch HostGuard.tables() {
        case let .success(loaded): expected(in: contents).filter { !loaded.contains($0) }
        case let .failure(problem): throw Failure(description: problem.description)
        }
    }

    /// The tables a file declares (`table FAMILY NAME {`), and the guard.
    static func expected(in contents: String) -> [String] {
        ["inet " + HostGuard.table] + contents.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.count == 4 && words[0] == "table" && words[3] == "{" ? "\(words[1]) \(words[2])" : nil
        }
    }

    /// An `nft -f` fragment that removes a table if it exists.
    static func removal(_ family: String, _ name: String) -> String {
        "table \(family) \(name)\ndelete table \(family) \(name)\n"
    }
}
