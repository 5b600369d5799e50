import Foundation
import Testing
@testable import Observe

/// The watcher as it runs beside tcpdump: capture files that grow while it reads them, a newer file
/// taking over a network (a reset), a watcher started again; the timeline in time order.
@Suite(.serialized) struct WatcherTests {
    struct Scratch {
        let root: String
        init() {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-watch-" + UUID().uuidString).path
            try! FileManager.default.createDirectory(atPath: root + "/captures", withIntermediateDirectories: true)
        }
        var captures: String { root + "/captures" }
        var store: TimelineStore { TimelineStore(root: root + "/runs", environment: "acme") }
        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static let facts = EnvironmentFacts(organization: nil, domain: "corp.acme.example", people: [], owners: [:], mailHost: nil, mailAddress: nil,
                                        internetHost: "inet")

    /// Starts a watcher on its own thread; returns a function that stops it and waits.
    func start(_ scratch: Scratch) -> () -> Void {
        let watcher = Watcher(settings: WatchSettings(book: book, captures: scratch.captures, keepBytes: 64 << 20, facts: Self.facts), store: scratch.store)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            watcher.run()
            done.signal()
        }
        thread.start()
        return {
            watcher.stop()
            done.wait()
        }
    }

    func waitFor(_ scratch: Scratch, count: Int, seconds: Double = 20) -> [TimelineEvent] {
        let deadline = Date().addingTimeInterval(seconds)
        var events: [TimelineEvent] = []
        while Date() < deadline {
            events = scratch.store.events()
            if events.count >= count { break }
            usleep(100_000)
        }
        return events
    }

    @Test func aGrowingCaptureIsDecodedAsItGrows() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let source = try Data(contentsOf: URL(fileURLWithPath: captures + "/http.pcap"))
        let file = scratch.captures + "/lan-20251201T100000.000Z.pcap"
        // The pcap header and the handshake first, the request and answer a while later.
        FileManager.default.createFile(atPath: file, contents: source.prefix(24 + 3 * 70))
        let stop = start(scratch)
        defer { stop() }
        let first = waitFor(scratch, count: 1)
        #expect(first.map(\.kind) == [.flow])
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: source.dropFirst(24 + 3 * 70))
        try handle.close()
        let all = waitFor(scratch, count: 2)
        #expect(all.map(\.kind) == [.flow, .http])
    }

    @Test func aNewerFileTakesOverTheNetworkAndTheWatcherStartsAgainWhereItWas() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: captures + "/dns.pcap", toPath: scratch.captures + "/lan-20251201T100000.000Z.pcap")
        try FileManager.default.copyItem(atPath: captures + "/smtp.pcap", toPath: scratch.captures + "/outside-20251201T100000.000Z.pcap")
        var stop = start(scratch)
        let before = waitFor(scratch, count: 4)
        #expect(before.map(\.kind.rawValue).sorted() == ["dns", "dns", "flow", "smtp"])
        stop()
        let written = scratch.store.events()
        // In time order across the two networks' files.
        #expect(written.map(\.time) == written.map(\.time).sorted())
        // Started again: what was told is not told twice; a newer file of the network (its
        // packets a minute later, as after a reset) is followed from its start.
        stop = start(scratch)
        let shifted = try Editcap.run(["-t", "60", captures + "/ldap.pcap", scratch.captures + "/lan-20251201T100100.000Z.pcap"])
        #expect(shifted == 0)
        let after = waitFor(scratch, count: written.count + 3)
        stop()
        #expect(Array(after.prefix(written.count)) == written)
        #expect(after.dropFirst(written.count).map(\.kind.rawValue) == ["flow", "ldap-bind", "ldap-bind"])
        #expect(after.map(\.time) == after.map(\.time).sorted())
    }

    @Test func rotationKeepsTheNewestWithinTheLimit() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let store = scratch.store
        try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
        let line = String(repeating: "x", count: 1023) + "\n"
        for round in 0 ..< 5 {
            try Data((String(round) + line).utf8).write(to: URL(fileURLWithPath: store.current))
            store.rotate(keepBytes: 3 * 1025)
        }
        // The three newest parts, oldest first; the current file begins again.
        #expect(store.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["timeline.3.jsonl", "timeline.2.jsonl", "timeline.1.jsonl"])
        let firsts = try store.files.map { try String(contentsOfFile: $0, encoding: .utf8).prefix(1) }
        #expect(firsts == ["2", "3", "4"])
    }

    /// A run's milestones go into the timeline beside the watcher's lines: both append, neither
    /// writes over the other (the watcher once wrote at the offset it had, over a milestone).
    @Test func milestonesAppendedBesideTheWatcherAreKept() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let store = scratch.store
        let writer = TimelineWriter(store: store, keepBytes: 64 << 20, window: 0)
        let start = Date().addingTimeInterval(-60)
        var expected: [TimelineEvent] = []
        for index in 0 ..< 20 {
            let flow = TimelineEvent(time: start.addingTimeInterval(Double(index)), network: "lan", src: nil, dst: nil,
                                     detail: .flow(protocol: "tcp", port: 1000 + index, state: .new))
            writer.add([flow])
            writer.flush()
            expected.append(flow)
            if index % 3 == 0 {
                let mark = TimelineEvent(time: flow.time, network: nil, src: nil, dst: nil, detail: .milestone(name: "m\(index)"))
                store.append([mark])
                expected.append(mark)
            }
        }
        writer.close()
        #expect(store.events() == expected)
        // No timeline folder (an environment not watched): nothing made.
        TimelineStore(root: scratch.root + "/none", environment: "acme").append(expected)
        #expect(!FileManager.default.fileExists(atPath: scratch.root + "/none"))
    }

    @Test func aTailReadsEachLineOnceAcrossRotation() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let store = scratch.store
        let writer = TimelineWriter(store: store, keepBytes: 64 << 20, window: 0)
        let event = TimelineEvent(time: Date().addingTimeInterval(-10), network: "lan", src: nil, dst: nil, detail: .milestone(name: "opened"))
        writer.add([event])
        writer.flush()
        let tail = TimelineTail(path: store.current, fromEnd: true)
        #expect(tail.read().isEmpty, "what was there before is not read")
        var later = event
        later.time = event.time.addingTimeInterval(1)
        writer.add([later])
        writer.flush()
        #expect(tail.read() == [later])
        writer.close()
        store.rotate(keepBytes: 64 << 20)
        var last = later
        last.time = later.time.addingTimeInterval(1)
        let next = TimelineWriter(store: store, keepBytes: 64 << 20, window: 0)
        next.add([last])
        next.close()
        #expect(tail.read() == [last])
        #expect(tail.read().isEmpty)
    }

    @Test func historyReadsFromTheEndOnlyAsFarAsAskedAcrossFiles() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let store = scratch.store
        let start = Date(timeIntervalSince1970: 1_796_000_000)
        func mark(_ index: Int) -> TimelineEvent {
            TimelineEvent(time: start.addingTimeInterval(Double(index)), network: index % 2 == 0 ? "lan" : "dmz", src: nil, dst: nil,
                          detail: .milestone(name: "m\(index)"))
        }
        // An older file, then the current one: 3,000 events each, lines of every length across the pieces.
        let older = (0 ..< 3000).map { mark($0) }, newer = (3000 ..< 6000).map { mark($0) }
        try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
        try Data(older.map { $0.jsonLine() + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: store.folder + "/timeline.1.jsonl"))
        // The current file ends with a line being written: not whole, not read.
        try Data((newer.map { $0.jsonLine() + "\n" }.joined() + #"{"time":"2026"#).utf8).write(to: URL(fileURLWithPath: store.current))
        let tail = TimelineTail(path: store.current, fromEnd: true)
        #expect(tail.history(store, limit: 5) == Array(newer.suffix(5)))
        #expect(tail.history(store, limit: 3005) == Array(older.suffix(5)) + newer, "across the older file, in order")
        #expect(tail.history(store) == older + newer)
        let recent = TimelineFilter(from: start.addingTimeInterval(5990))
        #expect(tail.history(store, filter: recent, limit: 4) == Array(newer.suffix(4)))
        // A piece far smaller than a line: every line still whole, once.
        var lines: [String] = []
        TimelineTail.linesBackward(store.current, piece: 7) { lines.append($0); return lines.count < 10 }
        #expect(lines == newer.suffix(10).reversed().map { $0.jsonLine() })
        #expect(store.lastTime() == newer.last?.time)
    }

    @Test func addressesNamedInsideAndOutside() {
        #expect(book.isOutside("198.51.100.7"))
        #expect(book.isOutside("203.0.113.1"), "the internet host stands for the outside")
        #expect(book.isOutside("203.0.113.77"), "its network's unheld addresses too")
        #expect(!book.isOutside("203.0.113.254"), "the gateway's leg there is the environment's")
        #expect(!book.isOutside("203.0.113.250"), "so is the bridge")
        #expect(!book.isOutside("10.10.0.5") && !book.isOutside("10.10.3.200"))
        #expect(book.home(source: "198.51.100.7", destination: "10.10.0.5") == "lan")
    }
}

enum Editcap {
    /// Wireshark's editcap (installed with tshark): shifts a capture's times.
    static func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/editcap")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
