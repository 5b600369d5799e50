import Foundation
import Synchronization

/// Token buckets by key (a user's validations, the wrong passwords given for a name): a burst of
/// `capacity`, then one more every `interval` seconds. Bounded in keys, so that made-up names do not
/// grow it without end: when full, buckets that have filled again are dropped first, then the oldest.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: Date
    }

    let capacity: Double
    let interval: Double
    let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    init(capacity: Int, interval: Double, maximumKeys: Int = 10000) {
        self.capacity = Double(capacity)
        self.interval = interval
        self.maximumKeys = maximumKeys
    }

    /// Takes a token for `key`: nil when there was one, else the seconds until there is.
    func take(_ key: String, now: Date = Date()) -> Double? {
        buckets.withLock { buckets in
            var bucket = refilled(buckets[key], now: now)
            defer {
                if buckets[key] == nil, buckets.count >= maximumKeys { evict(&buckets, now: now) }
                buckets[key] = bucket
            }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) * interval }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Gives back a token taken for `key` (a sign-in that was right after all).
    func refund(_ key: String, now: Date = Date()) {
        buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return }
            buckets[key] = Bucket(tokens: min(capacity, refilled(bucket, now: now).tokens + 1), at: now)
        }
    }

    /// Seconds until `key` may go on, without taking anything (nil: now).
    func wait(_ key: String, now: Date = Date()) -> Double? {
        buckets.withLock { buckets in
            let bucket = refilled(buckets[key], now: now)
            return bucket.tokens >= 1 ? nil : (1 - bucket.tokens) * interval
        }
    }

    /// Keys remembered.
    var count: Int { buckets.withLock { $0.count } }

    private func refilled(_ bucket: Bucket?, now: Date) -> Bucket {
        guard let bucket else { return Bucket(tokens: capacity, at: now) }
        return Bucket(tokens: min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.at)) / interval), at: now)
    }

    private func evict(_ buckets: inout [String: Bucket], now: Date) {
        let full = buckets.filter { refilled($0.value, now: now).tokens >= capacity }.map(\.key)
        for key in full { buckets[key] = nil }
        while buckets.count >= maximumKeys, let oldest = buckets.min(by: { $0.value.at < $1.value.at })?.key { buckets[oldest] = nil }
    }
}

/// The server's limits on what one user can make it do again and again.
struct RateLimits: Sendable {
    /// Validations per user: 20 at once, then one a second (each may compile thousands of hosts).
    var validations = RateLimiter(capacity: 20, interval: 1)
    /// Wrong passwords per user name: 5, then one every 12 s (5 a minute); past them, no password
    /// of that name is checked until the next (a right one gives its token back). Someone guessing
    /// can so delay that user's sign-in by password (by the minute), never their link or API tokens.
    var wrongPasswords = RateLimiter(capacity: 5, interval: 12)
}
