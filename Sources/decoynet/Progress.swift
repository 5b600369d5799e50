import Engine
import Foundation

/// Prints an operation's events as they come: on a terminal, one live line (steps done, hosts
/// healthy and booting) with failures and restarts above it; otherwise one line per event.
/// Quiet (for `--json`) prints nothing.
final class EventPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let phase: String
    private let total: Int
    private let hosts: Int
    private let quiet: Bool
    private let start = Date()
    private var done = 0
    private var failed = 0
    private var skipped = 0
    private var booting = 0
    private var healthy = 0
    private var unhealthy = 0
    private var restarted = 0
    private var live = false

    /// `total`: steps the walk has (0 when unknown); `hosts`: hosts the boot scheduler will start.
    init(phase: String, total: Int = 0, hosts: Int = 0, quiet: Bool) {
        self.phase = phase
        self.total = total
        self.hosts = hosts
        self.quiet = quiet
    }

    var elapsed: String { String(format: "%.1fs", Date().timeIntervalSince(start)) }

    func handle(_ event: OperationEvent) {
        lock.lock()
        defer { lock.unlock() }
        var lines: [String] = []
        var booted = false
        switch event.kind {
        case .stepBegan, .plan: return
        case .stepDone:
            done += 1
            if !Terminal.isInteractive { lines.append(String(format: "%@ (%.2fs)", event.message, event.seconds ?? 0)) }
        case .stepFailed:
            failed += 1
            lines.append("FAILED \(event.message)")
        case .stepSkipped:
            skipped += 1
            if !Terminal.isInteractive { lines.append("skipped \(event.message)") }
        case .bootStarted:
            booted = true
            if event.attempt == 1 { booting += 1 }
            if !Terminal.isInteractive { lines.append(event.message) }
        case .healthy:
            booted = true
            booting = max(0, booting - 1)
            healthy += 1
            if !Terminal.isInteractive { lines.append(event.message + (hosts > 0 ? " (\(healthy)/\(hosts))" : "")) }
        case .restarting:
            booted = true
            if event.attempt == 2 { restarted += 1 }
            lines.append(event.message)
            lines += (event.lines ?? []).map { "  | " + $0 }
        case .unhealthy:
            booted = true
            booting = max(0, booting - 1)
            unhealthy += 1
            lines.append(event.message)
        case .info, .error:
            lines.append(event.message)
        }
        guard !quiet else { return }
        guard Terminal.isInteractive else {
            for line in lines { Terminal.error(line) }
            return
        }
        if !lines.isEmpty { Terminal.errorInline("\r\u{1B}[2K" + lines.joined(separator: "\n") + "\n") }
        var line: String
        if booted || healthy + booting > 0 {
            line = "\r\u{1B}[2Kboot: \(healthy)\(hosts > 0 ? "/\(hosts)" : "") healthy, \(booting) booting"
            if restarted > 0 { line += ", \(restarted) restarted" }
            if unhealthy > 0 { line += ", \(unhealthy) unhealthy" }
        } else {
            line = "\r\u{1B}[2K\(phase): \(done)\(total > 0 ? "/\(total)" : "") done"
            if failed > 0 { line += ", \(failed) failed" }
            if skipped > 0 { line += ", \(skipped) skipped" }
        }
        live = true
        Terminal.errorInline(line + ", \(elapsed)")
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !quiet, Terminal.isInteractive, live else { return }
        live = false
        Terminal.errorInline("\n")
    }
}
