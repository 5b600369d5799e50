import Foundation

/// Follows one network's capture file as tcpdump writes it, through tshark, into timeline events:
/// bytes are handed to tshark as they appear (tcpdump writes each packet at once), tshark prints
/// one line per packet at once (`-l`), and the network's decoder turns lines into events.
public final class CaptureFollower: @unchecked Sendable {
    public let network: String
    public let file: String
    private let lock = NSLock()
    private var decoder: PacketDecoder
    private var finishing = false
    /// Whether the feeder has reached the end of what the file holds so far.
    private var caughtUp = false
    private var process: Process?
    private let sink: @Sendable ([TimelineEvent]) -> Void
    private let done = DispatchSemaphore(value: 0)

    public init(network: String, file: String, book: AddressBook, sink: @escaping @Sendable ([TimelineEvent]) -> Void) {
        self.network = network
        self.file = file
        self.sink = sink
        decoder = PacketDecoder(book: book, network: network)
    }

    /// Starts tshark and the two threads that feed and read it.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Tshark.executable())
        process.arguments = ["-l", "-r", "-"] + PacketField.tsharkArguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let feeder = Thread { [self] in feed(into: input.fileHandleForWriting) }
        feeder.name = "decoynet-feed-\(network)"
        feeder.start()
        let reader = Thread { [self] in read(from: output.fileHandleForReading) }
        reader.name = "decoynet-decode-\(network)"
        reader.start()
    }

    /// Reads what is left of the file, then ends (a newer file of the network has begun).
    public func finish() {
        lock.withLock { finishing = true }
    }

    /// Waits until the file is read and decoded to its end.
    public func wait() { done.wait() }

    /// Up to when this network's events are all known: now, once the file is read to its end;
    /// else the time of the newest packet decoded (a watcher reading a backlog).
    public func watermark(now: Date) -> Date {
        lock.withLock { caughtUp ? now : decoder.clock }
    }

    /// Exchanges that will not be answered any more, as of `now`.
    public func expire(now: Date) {
        let events = lock.withLock { decoder.expire(now: now) }
        sink(events)
    }

    private func feed(into pipe: FileHandle) {
        guard let source = FileHandle(forReadingAtPath: file) else {
            try? pipe.close()
            return
        }
        var idleAfterFinish = 0
        while true {
            let data = (try? source.read(upToCount: 1 << 16)) ?? nil
            if let data, !data.isEmpty {
                idleAfterFinish = 0
                lock.withLock { caughtUp = false }
                do { try pipe.write(contentsOf: data) } catch { break }
                continue
            }
            // Nothing new: the file is still being written, unless a newer one took over.
            lock.withLock { caughtUp = true }
            if lock.withLock({ finishing }) {
                idleAfterFinish += 1
                if idleAfterFinish > 2 { break }
            }
            usleep(100_000)
        }
        try? source.close()
        try? pipe.close()
    }

    private func read(from pipe: FileHandle) {
        var buffer = Data()
        while true {
            let data = pipe.availableData
            if data.isEmpty { break }
            buffer.append(data)
            var events: [TimelineEvent] = []
            while let newline = buffer.firstIndex(of: 0x0a) {
                let line = String(decoding: buffer[buffer.startIndex ..< newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex ... newline)
                if let row = PacketRow(line: Substring(line)) {
                    events += lock.withLock { decoder.decode(row) }
                }
            }
            sink(events)
        }
        process?.waitUntilExit()
        sink(lock.withLock { decoder.finish() })
        done.signal()
    }
}
