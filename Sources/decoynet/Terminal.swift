import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where progress goes: standard error, live on a terminal, line by line otherwise.
enum Terminal {
    static let isInteractive = isatty(STDERR_FILENO) == 1

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func errorInline(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// A table with left-aligned columns, as `virsh list` prints one.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Ctrl-C (or SIGTERM): stop scheduling, let running calls finish, leave a state the next
/// command converges from.
final class Interruption: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(onInterrupt: @escaping @Sendable () -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: onInterrupt)
            source.resume()
            sources.append(source)
        }
    }
}
