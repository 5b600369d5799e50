import Foundation
@testable import Server
import Testing

/// Token buckets: a burst, then one a period; each key its own; bounded in keys.
@Suite struct RateLimiterTests {
    @Test func aBurstThenOneEachInterval() {
        let limiter = RateLimiter(capacity: 3, interval: 10)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for _ in 0 ..< 3 { #expect(limiter.take("a", now: start) == nil) }
        #expect(limiter.take("a", now: start) == 10)
        #expect(limiter.wait("a", now: start.addingTimeInterval(4)) == 6)
        #expect(limiter.take("b", now: start) == nil, "each key has its own bucket")
        #expect(limiter.take("a", now: start.addingTimeInterval(10)) == nil)
        #expect(limiter.take("a", now: start.addingTimeInterval(10)) != nil)
        #expect(limiter.wait("a", now: start.addingTimeInterval(1000)) == nil, "full again, never more than the burst")
        for _ in 0 ..< 3 { #expect(limiter.take("a", now: start.addingTimeInterval(1000)) == nil) }
        #expect(limiter.take("a", now: start.addingTimeInterval(1000)) != nil)
    }

    @Test func madeUpKeysDoNotGrowItWithoutEnd() {
        let limiter = RateLimiter(capacity: 1, interval: 60, maximumKeys: 100)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(limiter.take("victim", now: start) == nil)
        for index in 0 ..< 1000 { _ = limiter.take("name-\(index)", now: start.addingTimeInterval(Double(index) / 1000)) }
        #expect(limiter.count <= 100)
        // The oldest went first: the victim's empty bucket is forgotten, so it is not limited forever.
        #expect(limiter.take("victim", now: start.addingTimeInterval(2)) == nil)
    }
}
