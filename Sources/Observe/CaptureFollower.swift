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
    private var atEnd = false
    /// Packets handed to tshark, and lines (one per packet) it has printed: when both agree at the
    /// end of the file, every event of the file so far is known.
    private var packetsFed = 0
    private var rowsRead = 0
    private var records = PcapRecords()
    /// The file read to its end and every packet of it decoded (read under the lock).
    private var caughtUp: Bool { atEnd && rowsRead >= packetsFed }
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
        let tshark = try Tshark.executable()
        let arguments = ["-l", "-r", "-"] + PacketField.tsharkArguments
        // Wireshark's dissectors read what the guests (and the malware in them) send: they run
        // without root's rights, reading the packets from the pipe this process fills.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", tshark] + arguments
            process.environment = ["HOME": "/nonexistent", "PATH": "/usr/bin:/bin"]
        } else {
            process.executableURL = URL(fileURLWithPath: tshark)
            process.arguments = arguments
        }
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

    /// Whether tshark still runs (it ends when the file is finished, or when it fails).
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Whether it was told to finish (a newer file took over).
    public var isFinishing: Bool { lock.withLock { finishing } }

    /// Up to when this network's events are all known: now, once the file is read to its end;
    /// else the time of the newest packet decoded (a watcher reading a backlog).
    public func watermark(now: Date) -> Date {
        lock.withLock {
            let known = caughtUp ? now : decoder.clock
            // An exchange still open is told at its start: nothing after it is final yet.
            return min(known, decoder.oldestOpen ?? known)
        }
    }

    /// Exchanges that will not be answered any more, as of `now`.
    public func expire(now: Date) {
        // Reading a backlog, the packets' own clock: an answer later in the file is not yet read.
        let events = lock.withLock { decoder.expire(now: caughtUp ? now : decoder.clock) }
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
                lock.withLock {
                    atEnd = false
                    packetsFed += records.count(data)
                }
                do { try pipe.write(contentsOf: data) } catch { break }
                continue
            }
            // Nothing new: the file is still being written, unless a newer one took over.
            lock.withLock { atEnd = true }
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
                lock.withLock { rowsRead += 1 }
            }
            sink(events)
        }
        process?.waitUntilExit()
        sink(lock.withLock { decoder.finish() })
        done.signal()
    }
}

/// Counts the packet records of a pcap stream as its bytes go by: its 24-byte header, then records
/// of a 16-byte header (the captured length at offset 8, in the file's byte order) and the data.
struct PcapRecords {
    private var pending = Data()
    private var headerSeen = false
    private var bigEndian = false

    mutating func count(_ data: Data) -> Int {
        pending.append(data)
        var found = 0
        var offset = pending.startIndex
        if !headerSeen {
            guard pending.count >= 24 else { return 0 }
            // a1 b2 c3 d4 (or a1 b2 3c 4d, nanoseconds) as written: big-endian; d4 c3 b2 a1: little.
            bigEndian = pending[offset] == 0xa1
            headerSeen = true
            offset += 24
        }
        while pending.endIndex - offset >= 16 {
            let field = pending[(offset + 8) ..< (offset + 12)].map(UInt32.init)
            let length = Int(bigEndian ? field[0] << 24 | field[1] << 16 | field[2] << 8 | field[3]
                                       : field[3] << 24 | field[2] << 16 | field[1] << 8 | field[0])
            guard pending.endIndex - offset >= 16 + length else { break }
            offset += 16 + length
            found += 1
        }
        pending.removeSubrange(pending.startIndex ..< offset)
        return found
    }
}
