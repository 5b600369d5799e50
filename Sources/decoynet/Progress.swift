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
