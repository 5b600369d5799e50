import Compiler
import Foundation
import Naming
import Observe

/// Reads the environment's infrastructure logs through the guest agents, for its watcher: each
/// gateway's firewall drops (`journalctl`'s kernel lines since the last read) and the internet
/// host's INetSim log (the bytes added since the last read). Only the gateways and the internet
/// host are read, never another host. A host that is down or busy is read again at the next poll,
/// from where the last read ended; nothing logged before the watcher began is taken.
public actor GuestLogReader {
    public nonisolated let environment: String
    public nonisolated let gateways: [String]
    public nonisolated let internetHost: String?
    private let exec: GuestExec
    private let started: Date
    private let report: @Sendable (String) -> Void
    private var cursors: [String: String] = [:]
    /// Where the next read of INetSim's log begins (nil: not read yet).
    private var inetOffset: Int?
    private var inetPartial = Data()
    private var inetLog: InetSimLog?
    /// The hosts whose last read failed, so that a failure is told once, and its end.
    private var failing: Set<String> = []

    /// `report`: a line for the watcher's log when a host's log cannot be read, and when it can again.
    public init(exec: GuestExec, environment: String, settings: WatchSettings, started: Date = Date(), report: @escaping @Sendable (String) -> Void) {
        self.exec = exec
        self.environment = environment
        self.started = started
        self.report = report
        gateways = settings.facts.gateways ?? []
        internetHost = settings.facts.internetHost
        inetLog = settings.facts.internetHost.map { InetSimLog(book: settings.book, host: $0) }
    }

    private func domain(_ host: String) -> String { Naming.object(environment: environment, name: host) }

    /// How far the guest's clock is behind this machine's (the middle of the call against the guest's answer).
    private func clockOffset(_ host: String) async throws -> TimeInterval {
        let before = Date()
        let guest = try await exec.time(domain: domain(host))
        let middle = before.addingTimeInterval(Date().timeIntervalSince(before) / 2)
        return middle.timeIntervalSince(guest)
    }

    private func failed(_ host: String, _ what: String, _ error: Any) {
        guard failing.insert(host).inserted else { return }
        report("cannot read \(what) of \(host) (\(error)); read again every 2 s. Check its guest agent: decoynet exec \(environment) \(host) -- true")
    }

    private func succeeded(_ host: String) {
        if failing.remove(host) != nil { report("reading the logs of \(host) again") }
    }

    /// What was logged since the last poll.
    public func poll() async -> (drops: [FirewallDrop], events: [TimelineEvent]) {
        var drops: [FirewallDrop] = []
        for gateway in gateways {
            do {
                let offset = try await clockOffset(gateway)
                // The first read: the kernel lines since the watcher began, on the gateway's clock.
                let command = FirewallLog.command(after: cursors[gateway], since: started.addingTimeInterval(-offset))
                let result = try await exec.run(domain: domain(gateway), arguments: command, timeout: 20)
                guard result.exitCode == 0 else {
                    failed(gateway, "the firewall's log", "journalctl ended with \(result.exitCode): \(result.stderr.prefix(200))")
                    continue
                }
                let (found, cursor) = FirewallLog.parse(journal: result.stdout, prefix: Firewall.dropPrefix, gateway: gateway, clockOffset: offset)
                drops += found.filter { $0.time >= started }
                if let cursor { cursors[gateway] = cursor }
                succeeded(gateway)
            } catch {
                failed(gateway, "the firewall's log", error)
            }
        }
        var events: [TimelineEvent] = []
        if let host = internetHost, var log = inetLog {
            do {
                let offset = try await clockOffset(host)
                var skipFirstLine = false
                if inetOffset == nil {
                    // The first read: the log's last MiB at most (a watcher started again on a log of
                    // weeks); what came before the watcher began is left out below.
                    let size = try await exec.read(domain: domain(host), path: InetSimLog.path, from: 0, limit: 0).size
                    inetOffset = max(0, size - (1 << 20))
                    skipFirstLine = inetOffset != 0
                }
                let from = inetOffset ?? 0
                let read = try await exec.read(domain: domain(host), path: InetSimLog.path, from: from)
                // A log begun again (rotated): its start, without the old one's unfinished line.
                if read.from != from { inetPartial = Data() }
                var text = inetPartial + read.bytes
                if skipFirstLine, let newline = text.firstIndex(of: UInt8(ascii: "\n")) { text = Data(text[text.index(after: newline)...]) }
                if let lastNewline = text.lastIndex(of: UInt8(ascii: "\n")) {
                    inetPartial = Data(text[text.index(after: lastNewline)...])
                    text = Data(text[...lastNewline])
                    for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
                        // Only what came after the watcher began (INetSim's times are to the second).
                        if let event = log.take(line, clockOffset: offset), event.time >= started.addingTimeInterval(-1) { events.append(event) }
                    }
                } else {
                    inetPartial = text
                }
                inetOffset = read.from + read.bytes.count
                inetLog = log
                succeeded(host)
            } catch {
                // INetSim not started yet (no log), or the host down: read from where it stopped next time.
                failed(host, InetSimLog.path, error)
            }
        }
        return (drops, events)
    }
}
