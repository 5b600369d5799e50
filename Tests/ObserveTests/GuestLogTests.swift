import Foundation
import Testing
@testable import Observe

/// The infrastructure's own logs into the timeline: the gateways' firewall drops (kernel lines as
/// `journalctl -o json` gives them) and the internet host's INetSim log, lines as INetSim 1.3.2
/// writes them (`INetSim::Log::SubLog`, `INetSim::HTTP`).
@Suite struct GuestLogTests {
    static let journal = """
    {"__CURSOR":"s=5b1e;i=3f1;b=77aa;m=1a2b;t=63f0;x=11","__REALTIME_TIMESTAMP":"1796205600123456","__MONOTONIC_TIMESTAMP":"901234567","PRIORITY":"6","_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"decoynet-drop: IN=enp2s0 OUT=enp3s0 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.20.0.25 DST=198.51.100.7 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4242 DF PROTO=TCP SPT=40312 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 "}
    {"__CURSOR":"s=5b1e;i=3f2;b=77aa;m=1a2c;t=63f1;x=12","__REALTIME_TIMESTAMP":"1796205601000000","PRIORITY":"6","_TRANSPORT":"kernel","MESSAGE":"virtio_net virtio1 enp2s0: renamed"}
    {"__CURSOR":"s=5b1e;i=3f3;b=77aa;m=1a2d;t=63f2;x=13","__REALTIME_TIMESTAMP":"1796205602500000","PRIORITY":"6","_TRANSPORT":"kernel","MESSAGE":"decoynet-drop: IN=enp2s0 OUT=enp1s0 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.20.0.25 DST=10.10.0.5 LEN=78 TOS=0x00 PREC=0x00 TTL=63 ID=7 PROTO=UDP SPT=5353 DPT=137 LEN=58 "}
    {"__CURSOR":"s=5b1e;i=3f4;b=77aa;m=1a2e;t=63f3;x=14","__REALTIME_TIMESTAMP":"1796205603000000","PRIORITY":"6","_TRANSPORT":"kernel","MESSAGE":"decoynet-drop: IN=enp2s0 OUT=enp1s0 SRC=10.20.0.25 DST=10.10.0.5 LEN=84 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1 "}
    not json
    """

    @Test func dropsOfTheKernelLogWithTheCursorToGoOnFrom() {
        let (drops, cursor) = FirewallLog.parse(journal: Self.journal, prefix: "decoynet-drop", gateway: "fw", clockOffset: 2)
        #expect(cursor == "s=5b1e;i=3f4;b=77aa;m=1a2e;t=63f3;x=14")
        // TCP and UDP told (ICMP has no port to tell), on this machine's clock.
        #expect(lines(drops.map { $0.event(book) }) == [
            #"{"time":"2026-12-02T10:00:02.123Z","kind":"flow","network":"servers","src":{"host":"mail","address":"10.20.0.25"},"dst":{"host":null,"address":"198.51.100.7"},"outside":true,"by":"fw","detail":{"protocol":"tcp","port":80,"state":"dropped"}}"#,
            #"{"time":"2026-12-02T10:00:04.500Z","kind":"flow","network":"servers","src":{"host":"mail","address":"10.20.0.25"},"dst":{"host":"ws-01","address":"10.10.0.5"},"by":"fw","detail":{"protocol":"udp","port":137,"state":"dropped"}}"#,
        ])
        // The first read: since the watcher began; then after the last line read.
        #expect(FirewallLog.command(after: nil, since: Date(timeIntervalSince1970: 1796205600.7))
            == ["journalctl", "-k", "-o", "json", "--no-pager", "--since", "@1796205600"])
        #expect(FirewallLog.command(after: "s=1;i=2", since: Date()).suffix(2) == ["--after-cursor", "s=1;i=2"])
        #expect(FirewallLog.parse(journal: "", prefix: "decoynet-drop", gateway: "fw", clockOffset: 0).cursor == nil)
        // Another prefix is not a drop.
        #expect(FirewallLog.parse(journal: Self.journal, prefix: "other-drop", gateway: "fw", clockOffset: 0).drops.isEmpty)
    }

    @Test func aConnectionTheFirewallDroppedIsToldOnceByIt() {
        let (drops, _) = FirewallLog.parse(journal: Self.journal, prefix: "decoynet-drop", gateway: "fw", clockOffset: 0)
        let recent = RecentDrops()
        let time = drops[0].time.addingTimeInterval(0.4)
        let unanswered = TimelineEvent(time: time, network: "servers", src: book.endpoint("10.20.0.25"), dst: book.endpoint("198.51.100.7"), outside: true,
                                       detail: .flow(protocol: "tcp", port: 80, state: .dropped))
        var otherPort = unanswered
        otherPort.detail = .flow(protocol: "tcp", port: 443, state: .dropped)
        var answered = unanswered
        answered.detail = .flow(protocol: "tcp", port: 80, state: .new)
        var muchLater = unanswered
        muchLater.time = time.addingTimeInterval(30)
        #expect(recent.filter([unanswered]) == [unanswered], "no drops known: every event kept")
        // The first SYN dropped is told; the same connection's retried SYN a second later is not.
        var retried = drops[0]
        retried.time = drops[0].time.addingTimeInterval(1)
        var another = drops[0]
        another.sourcePort = 40314
        #expect(recent.add([drops[0], retried, another]) == [drops[0], another])
        #expect(recent.add([retried]).isEmpty)
        recent.add(drops)
        #expect(recent.filter([unanswered, otherPort, answered, muchLater]) == [otherPort, answered, muchLater])
        // A drop is forgotten a minute after it was read.
        recent.add([], now: Date().addingTimeInterval(61))
        #expect(recent.filter([unanswered]) == [unanswered])
    }

    /// The packets' unanswered connections wait for the firewall's line, which comes later.
    @Test func unansweredConnectionsWaitForTheFirewallsLine() {
        let (drops, _) = FirewallLog.parse(journal: Self.journal, prefix: "decoynet-drop", gateway: "fw", clockOffset: 0)
        let recent = RecentDrops(hold: 4)
        let now = Date()
        let unanswered = TimelineEvent(time: drops[0].time, network: "servers", src: book.endpoint("10.20.0.25"), dst: book.endpoint("198.51.100.7"), outside: true,
                                       detail: .flow(protocol: "tcp", port: 80, state: .dropped))
        var elsewhere = unanswered
        elsewhere.dst = book.endpoint("10.10.0.5")
        var answered = unanswered
        answered.detail = .flow(protocol: "tcp", port: 80, state: .new)
        #expect(recent.hold([unanswered, elsewhere, answered], now: now) == [answered])
        #expect(recent.release(now: now.addingTimeInterval(3)).isEmpty, "still waiting")
        recent.add(drops, now: now.addingTimeInterval(2))
        // The one the firewall told is left out; the other, unanswered for its own reasons, is told.
        #expect(recent.release(now: now.addingTimeInterval(4)) == [elsewhere])
        #expect(recent.release(now: .distantFuture).isEmpty)
    }

    static let inetsim = """
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] connect
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] recv: GET /update?id=7 HTTP/1.1
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] recv: Host: update.example.org
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] info: Request URL: https://update.example.org/update?id=7
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] info: Sending fake file configured for extension 'html'.
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] send: HTTP/1.1 200 OK
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] send: Content-Type: text/html
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] stat: 1 method=GET url=https://update.example.org/update?id=7 sent=/usr/share/inetsim/data/http/fakefiles/sample.html postdata=
    [2026-12-02 10:00:00] [1234] [https_443_tcp 5678] [10.10.0.5:51234] disconnect
    [2026-12-02 10:00:01] [1234] [http_80_tcp 5679] [10.10.0.5:51236] send: HTTP/1.1 200 OK
    [2026-12-02 10:00:01] [1234] [http_80_tcp 5679] [10.10.0.5:51236] stat: 1 method=GET url=http://c2.example.net/beacon sent=/usr/share/inetsim/data/http/fakefiles/sample.html postdata=
    [2026-12-02 10:00:02] [1234] [https_443_tcp 5680] [10.10.0.5:51240] stat: 0 method=POST url=/upload sent=none postdata=/var/lib/inetsim/http/postdata/abc
    [2026-12-02 10:00:03]  HTTPS over TCP - started (PID 5678)
    [garbage
    """

    @Test func requestsInsideTLSAsINetSimAnsweredThem() {
        var log = InetSimLog(book: book, host: "inet")
        let events = Self.inetsim.split(separator: "\n").compactMap { log.take($0, clockOffset: 3) }
        // Plain HTTP is left to the packets; a request without its answer has no status.
        #expect(lines(events) == [
            #"{"time":"2026-12-02T10:00:03.000Z","kind":"http","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"inet","address":"203.0.113.1"},"outside":true,"by":"inet","detail":{"method":"GET","host":"update.example.org","path":"/update?id=7","status":200}}"#,
            #"{"time":"2026-12-02T10:00:05.000Z","kind":"http","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"inet","address":"203.0.113.1"},"outside":true,"by":"inet","detail":{"method":"POST","host":null,"path":"/upload","status":null}}"#,
        ])
        // Read back as written, `by` included.
        #expect(events.map { TimelineEvent.parse(line: $0.jsonLine()) } == events)
        #expect(events[0].summary.hasSuffix("[outside]  [by inet]"))
    }
}
