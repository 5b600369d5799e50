import Foundation
import Testing
@testable import Observe

/// Hand-written timelines: a workstation opens the sample at 10:00:00; inet is the internet host.
@Suite struct MilestoneTests {
    let opened = Date(timeIntervalSince1970: 1_764_583_200)

    func at(_ seconds: Double) -> Date { opened.addingTimeInterval(seconds) }

    func flow(_ seconds: Double, _ from: String?, _ to: String?, _ address: String, port: Int, state: TimelineEvent.FlowState = .new) -> TimelineEvent {
        let outside = to == nil || to == "inet" || from == nil || from == "inet"
        return TimelineEvent(time: at(seconds), network: "lan", src: .init(host: from, address: "10.10.0.5"), dst: .init(host: to, address: address),
                             outside: outside, detail: .flow(protocol: "tcp", port: port, state: state))
    }

    var before: [TimelineEvent] {
        [flow(-600, "ws-01", "file01", "10.20.0.30", port: 445), flow(-300, "ws-01", "mail", "10.20.0.25", port: 143)]
    }

    @Test func theFirstCallHomeAfterTheOpening() {
        var detector = MilestoneDetector(opened: ["ws-01"], since: opened, outsideHosts: ["inet"], before: before)
        let events = [
            flow(-5, "ws-02", nil, "198.51.100.7", port: 80),          // before the opening: not this run's
            flow(1, "ws-01", "file01", "10.20.0.30", port: 445),
            flow(2, "ws-01", nil, "198.51.100.7", port: 4444, state: .dropped), // never connected
            flow(3, "inet", "mail", "10.20.0.25", port: 25),            // mail coming in from outside
            flow(4, "ws-01", "inet", "203.0.113.1", port: 80),
            flow(5, "ws-02", nil, "198.51.100.8", port: 443),
        ]
        var found: [String] = []
        for event in events { found += detector.observe(event).map { "\($0.name) \(TimelineEvent.timeText($0.time))" } }
        #expect(found == ["c2 2025-12-01T10:00:04.000Z"])
        #expect(detector.reached(.c2, now: at(10))?.event == events[4])
        #expect(detector.reached(.lateral, now: at(10)) == nil)
    }

    @Test func aMoveToAnotherHostOnAPortNotUsedBefore() {
        var detector = MilestoneDetector(opened: ["ws-01"], since: opened, outsideHosts: ["inet"], before: before)
        let events = [
            flow(1, "ws-01", "file01", "10.20.0.30", port: 445),        // its usual share: not lateral
            flow(2, "ws-02", "file01", "10.20.0.30", port: 22),         // another host, not opened
            flow(3, "ws-01", "file01", "10.20.0.30", port: 22, state: .refused),
            flow(4, "ws-01", "ws-01", "10.10.0.5", port: 8080),         // itself
            flow(5, "ws-01", "dc01", "10.20.0.10", port: 135),
        ]
        var found: [String] = []
        for event in events { found += detector.observe(event).map(\.name) }
        #expect(found == ["lateral"])
        #expect(detector.lateral?.event == events[4])
        #expect(detector.usedPorts["ws-01"] == [445, 143])
    }

    @Test func portsUsedAreLearntFromEventsBeforeTheOpeningToo() {
        // The watcher feeds the timeline as it comes, from before the opening on.
        var detector = MilestoneDetector(opened: ["ws-01"], since: opened, outsideHosts: ["inet"])
        _ = detector.observe(flow(-1, "ws-01", "dc01", "10.20.0.10", port: 389))
        #expect(detector.observe(flow(1, "ws-01", "dc01", "10.20.0.10", port: 389)).isEmpty)
        #expect(detector.observe(flow(2, "ws-01", "dc01", "10.20.0.10", port: 445)).map(\.name) == ["lateral"])
    }

    @Test func quietAfterTheLastEvent() {
        var detector = MilestoneDetector(opened: ["ws-01"], since: opened, outsideHosts: ["inet"])
        #expect(detector.reached(.quiet(60), now: at(59)) == nil)
        _ = detector.observe(flow(30, "ws-01", "file01", "10.20.0.30", port: 445))
        #expect(detector.reached(.quiet(60), now: at(61)) == nil)
        #expect(detector.reached(.quiet(60), now: at(90))?.time == at(90))
        #expect(detector.reached(.quiet(60), now: at(90))?.name == "quiet")
    }

    @Test(arguments: [("c2", RunEnd.c2), ("lateral", .lateral), ("quiet:90s", .quiet(90)), ("quiet:5m", .quiet(300)), ("quiet:2h", .quiet(7200)),
                      ("quiet:45", .quiet(45))])
    func endsAsWritten(_ text: String, _ end: RunEnd) {
        #expect(RunEnd(text) == end)
    }

    @Test(arguments: ["", "C2", "quiet", "quiet:", "quiet:0s", "quiet:-5m", "quiet:5d", "laterally", "quiet:inf", "quiet:nan", "quiet:1e9"])
    func endsThatAreNot(_ text: String) {
        #expect(RunEnd(text) == nil)
    }
}
