import Foundation

/// Where an environment's timeline lives and how it is written, rotated and read:
/// `ROOT/ENV/timeline.jsonl`, older parts `timeline.1.jsonl`, `timeline.2.jsonl` ... (1 the newest).
public struct TimelineStore: Sendable {
    public static let defaultRoot = "/var/lib/decoynet/runs"

    public let root: String
    public let environment: String

    public init(root: String = TimelineStore.defaultRoot, environment: String) {
        self.root = root
        self.environment = environment
    }

    /// `DECOYNET_RUNS` when set, else the default.
    public static var rootFromEnvironment: String {
        ProcessInfo.processInfo.environment["DECOYNET_RUNS"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultRoot
    }

    public var folder: String { root + "/" + environment }
    public var current: String { folder + "/timeline.jsonl" }
    /// What the watcher reads: the address book and how much to keep.
    public var settings: String { folder + "/watch.json" }
    public var watcherLog: String { folder + "/watcher.log" }

    /// The settings apply wrote for the environment's watcher; nil when it is not watched.
    public func watchSettings() -> WatchSettings? {
        FileManager.default.contents(atPath: settings).flatMap { try? JSONDecoder().decode(WatchSettings.self, from: $0) }
    }

    /// The timeline's files, oldest first.
    public var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let parts = names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("timeline."), name.hasSuffix(".jsonl") else { return nil }
            let middle = name.dropFirst("timeline.".count).dropLast(".jsonl".count)
            return Int(middle).map { ($0, folder + "/" + name) }
        }
        return parts.sorted { $0.0 > $1.0 }.map(\.1) + (FileManager.default.fileExists(atPath: current) ? [current] : [])
    }

    /// Every event kept, in the order written (time order).
    public func events() -> [TimelineEvent] {
        files.flatMap { file -> [TimelineEvent] in
            guard let data = FileManager.default.contents(atPath: file) else { return [] }
            return TimelineEvent.parse(lines: String(decoding: data, as: UTF8.self))
        }
    }

    /// The newest event's time, from the last lines of the newest file (for a watcher that starts
    /// again): the logs' events and runs' milestones come a few seconds after the packets', so the
    /// last line is not always the newest.
    public func lastTime() -> Date? {
        for file in files.reversed() {
            // The last 500 lines, read from the end: not the whole file first.
            var times: [Date] = []
            var lines = 0
            TimelineTail.linesBackward(file) { line in
                lines += 1
                if let time = TimelineEvent.parse(line: line)?.time { times.append(time) }
                return lines < 500
            }
            if let newest = times.max() { return newest }
        }
        return nil
    }

    /// The current file opened for appending (made if missing): every write lands at its end, so
    /// the watcher and a run's milestones may write it at once without either losing a line.
    func appending() -> FileHandle? {
        let descriptor = open(current, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        return descriptor < 0 ? nil : FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Appends events to the current file, each line whole, beside the watcher's own (a run's
    /// milestones, so that whoever follows the timeline sees them as they are found).
    /// False when nothing could be written (no timeline folder, or the write failed).
    @discardableResult
    public func append(_ events: [TimelineEvent]) -> Bool {
        guard !events.isEmpty, FileManager.default.fileExists(atPath: folder), let handle = appending() else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data(events.map { $0.jsonLine() + "\n" }.joined().utf8))) != nil
    }

    /// Moves the current file to `timeline.1.jsonl` (and older ones up by one), then drops the oldest
    /// files until all of them fit in `keepBytes` beside `otherBytes` (the captures).
    public func rotate(keepBytes: UInt64, otherBytes: UInt64 = 0) {
        let manager = FileManager.default
        let older = files.dropLast(manager.fileExists(atPath: current) ? 1 : 0)
        // Oldest (highest number) first, so that no move lands on a file not yet moved.
        for file in older {
            let number = Int(file.split(separator: ".").dropLast().last ?? "0") ?? 0
            try? manager.moveItem(atPath: file, toPath: folder + "/timeline.\(number + 1).jsonl")
        }
        try? manager.moveItem(atPath: current, toPath: folder + "/timeline.1.jsonl")
        dropOldest(keepBytes: keepBytes, otherBytes: otherBytes)
    }

    /// Removes the oldest older parts (never the current file, nor the newest part) until the
    /// timeline fits in `keepBytes` beside `otherBytes`.
    public func dropOldest(keepBytes: UInt64, otherBytes: UInt64 = 0) {
        var parts = files.filter { $0 != current }
        var total = files.reduce(otherBytes) { $0 + fileSize($1) }
        while total > keepBytes, parts.count > 1 {
            let oldest = parts.removeFirst()
            total -= min(total, fileSize(oldest))
            try? FileManager.default.removeItem(atPath: oldest)
        }
    }
}

/// A file's size in bytes (0 for one that is gone).
func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? UInt64) ?? 0
}

/// Lines appended to the current timeline file, in time order within a short window: events of
/// several networks' decoders arrive a little out of order and leave sorted.
public final class TimelineWriter: @unchecked Sendable {
    public let store: TimelineStore
    /// How long an event waits for earlier ones from other networks.
    public let window: TimeInterval
    /// Above this, the current file is rotated.
    public let fileLimit: UInt64
    public let keepBytes: UInt64
    /// Events at or before this time are already in the timeline (a watcher that starts again).
    private var after: Date?
    private var pending: [TimelineEvent] = []
    private let lock = NSLock()
    private var handle: FileHandle?
    private var written: UInt64 = 0
    /// Called with each line as it is written.
    public var onWrite: (@Sendable (TimelineEvent) -> Void)?

    public init(store: TimelineStore, keepBytes: UInt64, window: TimeInterval = 0.5, after: Date? = nil) {
        self.store = store
        self.keepBytes = keepBytes
        self.window = window
        self.after = after
        fileLimit = max(1 << 20, keepBytes / 8)
    }

    public func add(_ events: [TimelineEvent]) {
        guard !events.isEmpty else { return }
        lock.withLock {
            pending += events.filter { event in after.map { event.time > $0 } ?? true }
        }
    }

    /// Writes what has waited long enough (everything, with `all`).
    public func flush(now: Date = Date(), all: Bool = false) {
        lock.withLock {
            let limit = now.addingTimeInterval(-window)
            let ready = all ? pending : pending.filter { $0.time <= limit }
            guard !ready.isEmpty else { return }
            pending = all ? [] : pending.filter { $0.time > limit }
            var text = ""
            for event in ready.sorted(by: { $0.time < $1.time }) {
                text += event.jsonLine() + "\n"
                onWrite?(event)
            }
            write(text)
        }
    }

    private func write(_ text: String) {
        if handle == nil {
            try? FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
            handle = store.appending()
        }
        try? handle?.write(contentsOf: Data(text.utf8))
        // Appended: the end of the file, which a run's milestones may also have moved.
        written = (try? handle?.offset()) ?? 0
        if written >= fileLimit {
            try? handle?.close()
            handle = nil
            store.rotate(keepBytes: keepBytes)
        }
    }

    public func close() {
        flush(all: true)
        lock.withLock {
            try? handle?.close()
            handle = nil
        }
    }
}
