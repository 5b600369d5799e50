import Engine
import Foundation
import Testing

@Suite struct LockTests {
    /// A second command on the same environment waits for the first instead of interleaving.
    @Test func aSecondHolderWaitsUntilTheFirstReleases() throws {
        let environment = uniqueName("lock")
        var first: EnvironmentLock? = try EnvironmentLock(environment: environment, uri: testURI)
        let events = EventRecorder()
        let thread = Thread {
            let second = try? EnvironmentLock(environment: environment, uri: testURI) { events.add("waiting") }
            events.add(second == nil ? "failed" : "acquired")
        }
        thread.start()
        let deadline = Date().addingTimeInterval(10)
        while events.all.isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.2)
        #expect(events.all == ["waiting"], "the second command waits while the first holds the lock")
        first = nil
        while events.all.count < 2, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(events.all == ["waiting", "acquired"])
        _ = first
    }

    @Test func differentEnvironmentsDoNotWaitForEachOther() throws {
        let one = try EnvironmentLock(environment: uniqueName("a"), uri: testURI)
        var waited = false
        let two = try EnvironmentLock(environment: uniqueName("b"), uri: testURI) { waited = true }
        #expect(!waited)
        withExtendedLifetime((one, two)) {}
    }
}

final class EventRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []

    func add(_ event: String) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}
