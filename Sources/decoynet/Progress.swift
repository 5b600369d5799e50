import Engine
import Foundation

/// Prints a walk's progress: a live line per phase on a terminal, one line per finished step otherwise.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private let phase: String
    private let total: Int
    private let start = Date()
    private var done = 0
    private var failed = 0
    private var skipped = 0
    private let quiet: Bool

    init(phase: String, total: Int, quiet: Bool = false) {
        self.phase = phase
        self.total = total
        self.quiet = quiet
    }

    var elapsed: String { String(format: "%.1fs", Date().timeIntervalSince(start)) }

    func handle(_ event: WalkEvent) {
        guard case let .finished(_, label, result) = event else { return }
        lock.lock()
        defer { lock.unlock() }
        switch result {
        case .done: done += 1
        case .failed: failed += 1
        case .skipped: skipped += 1
        case .notStarted: break
        }
        guard !quiet else { return }
        if Terminal.isInteractive {
            var line = "\r\u{1B}[2K\(phase): \(done)\(total > 0 ? "/\(total)" : "") done"
            if failed > 0 { line += ", \(failed) failed" }
            if skipped > 0 { line += ", \(skipped) skipped" }
            Terminal.errorInline(line + ", \(elapsed)")
            if case let .failed(message) = result { Terminal.error("\n  failed: \(label): \(message)") }
        } else {
            switch result {
            case let .done(seconds): Terminal.error(String(format: "%@ (%.2fs)", label, seconds))
            case let .failed(message): Terminal.error("FAILED \(label): \(message)")
            case let .skipped(because): Terminal.error("skipped \(label): \(because) failed")
            case .notStarted: break
            }
        }
    }

    func finish() {
        guard !quiet, Terminal.isInteractive else { return }
        lock.lock()
        defer { lock.unlock() }
        Terminal.errorInline("\n")
    }
}

/// Prints the boot scheduler's progress: a live line on a terminal (healthy, booting, restarted),
/// one line per host otherwise; restarts and failures always with the console's last lines.
final class BootProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let start = Date()
    private let quiet: Bool
    private var booting = 0
    private var healthy = 0
    private var failed = 0
    private var restarted = 0

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
    }

    func handle(_ event: BootScheduler.Event) {
        lock.lock()
        defer { lock.unlock() }
        var lines: [String] = []
        switch event {
        case let .started(_, domain, attempt):
            if attempt == 1 { booting += 1 }
            if !Terminal.isInteractive { lines.append("boot \(domain)\(attempt > 1 ? " (attempt \(attempt))" : "")") }
        case let .healthy(_, domain, seconds):
            booting -= 1
            healthy += 1
            if !Terminal.isInteractive { lines.append(String(format: "healthy %@ after %.1fs (%d/%d)", domain, seconds, healthy, total)) }
        case let .restarting(_, domain, reason, attempt, console):
            if attempt == 2 { restarted += 1 }
            lines.append("restarting \(domain) (attempt \(attempt)): \(reason)")
            lines += console.map { "  | " + $0 }
        case let .unhealthy(_, domain, reason):
            booting -= 1
            failed += 1
            lines.append("unhealthy \(domain): \(reason)")
        }
        guard !quiet else { return }
        if Terminal.isInteractive {
            if !lines.isEmpty { Terminal.errorInline("\r\u{1B}[2K" + lines.joined(separator: "\n") + "\n") }
            var line = "\r\u{1B}[2Kboot: \(healthy)/\(total) healthy, \(booting) booting"
            if restarted > 0 { line += ", \(restarted) restarted" }
            if failed > 0 { line += ", \(failed) unhealthy" }
            Terminal.errorInline(line + String(format: ", %.0fs", Date().timeIntervalSince(start)))
        } else {
            for line in lines { Terminal.error(line) }
        }
    }

    func finish() {
        guard !quiet, Terminal.isInteractive else { return }
        Terminal.errorInline("\n")
    }
}
