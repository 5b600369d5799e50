import Foundation
import Naming
import Observe

/// Reads the environment's infrastructure logs through the guest agents, for its watcher: each
/// gateway's firewall drops (`journalctl`'s kernel lines since the last read) and the internet
/// host's INetSim log (the bytes added since the last read). Only hosts DecoyNet puts in every
/// environment for itself are read, never a victim. A host that is down or busy is tried again at
/// the next poll; what was logged meanwhile is read then.
public actor GuestLogReader {
    public nonisolated let environment: String
    public nonisolated let gateways: [String]
    public nonisolated let internetHost: String?
    private let exec: GuestExec
    private var cursors: [String: String] = [:]
    private var inetOffset: Int?
    private var inetPartial = Data()
    private var inetLog: InetSimLog?

    public init(exec: GuestExec, environment: String, settings: WatchSettings) {
        self.exec = exec
        self.environment = environment
        gateways = settings.facts.gateways ?? []
        internetHost = settings.facts.internetHost
        inetLog = settings.facts.internetHost.map { InetSimLog(book: settings.book, host: $0) }
    }

    public nonisolated var isEmpty: Bool { gateways.isEmpty && internetHost == nil }

    private func domain(_ host: String) -> String { Naming.object(environment: environment, name: host) }

    /// How far the guest's clock is behind this machine's (the middle of the call against the guest's answer).
    private func clockOffset(_ host: String) async throws -> TimeInterval {
        let before = Date()
        let guest = try await exec.time(domain: domain(host))
        let middle = before.addingTimeInterval(Date().timeIntervalSince(before) / 2)
        return middle.timeIntervalSince(guest)
    }

    /// What was logged since the last poll (the first poll starts at the logs' ends).
    public func poll() async -> (drops: [FirewallDrop], events: [TimelineEvent]) {
        var drops: [FirewallDrop] = []
        for gateway in gateways {
            do {
                let offset = try await clockOffset(gateway)
                let result = try await exec.run(domain: domain(gateway), arguments: FirewallLog.command(after: cursors[gateway]), timeout: 20)
                guard result.exitCode == 0 else { continue }
                let (found, cursor) = FirewallLog.parse(journal: result.stdout, gateway: gateway, clockOffset: offset)
                if cursors[gateway] != nil { drops += found }
                if let cursor { cursors[gateway] = cursor }
            } catch {
                continue
            }
        }
        var events: [TimelineEvent] = []
        if let host = internetHost, var log = inetLog {
            do {
                let offset = try await clockOffset(host)
                if let from = inetOffset {
                    let read = try await exec.read(domain: domain(host), path: InetSimLog.path, from: from)
                    // A log begun again (rotated): its start, without the old one's unfinished line.
                    if read.from != from { inetPartial = Data() }
                    var text = inetPartial + read.bytes
                    if let lastNewline = text.lastIndex(of: UInt8(ascii: "\n")) {
                        inetPartial = Data(text[text.index(after: lastNewline)...])
                        text = Data(text[...lastNewline])
                        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
                            if let event = log.take(line, clockOffset: offset) { events.append(event) }
                        }
                    } else {
                        inetPartial = text
                    }
                    inetOffset = read.from + read.bytes.count
                } else {
                    // The first read starts at the end: what was logged before the watcher began is not news.
                    inetOffset = try await exec.read(domain: domain(host), path: InetSimLog.path, from: 0, limit: 0).size
                }
                inetLog = log
            } catch {
                // INetSim not started yet (no log), or the host down: the log from its start next time
                // (the timeline takes nothing older than what it holds).
                if inetOffset == nil { inetOffset = 0 }
            }
        }
        return (drops, events)
    }
}
