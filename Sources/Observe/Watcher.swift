import Foundation

/// What the watcher of an environment reads when it starts: written by apply beside the timeline.
public struct WatchSettings: Sendable, Codable, Equatable {
    public var book: AddressBook
    /// The folder of the environment's capture files (`NETWORK-STAMP.pcap`).
    public var captures: String
    public var keepBytes: UInt64
    /// What a run needs to know of the environment without its topology.
    public var facts: EnvironmentFacts

    public init(book: AddressBook, captures: String, keepBytes: UInt64, facts: EnvironmentFacts) {
        self.book = book
        self.captures = captures
        self.keepBytes = keepBytes
        self.facts = facts
    }
}

/// The environment's people, who owns which host, and its mail server and internet: what
/// `decoynet run` delivers to and opens on.
public struct EnvironmentFacts: Sendable, Codable, Equatable {
    public struct Person: Sendable, Codable, Equatable {
        public var user: String
        public var name: String
        /// Their mailbox on the environment's mail server.
        public var mail: String?

        public init(user: String, name: String, mail: String?) {
            self.user = user
            self.name = name
            self.mail = mail
        }
    }

    public var organization: String?
    public var domain: String?
    public var people: [Person]
    /// Host -> its owner's user.
    public var owners: [String: String]
    public var mailHost: String?
    public var mailAddress: String?
    public var internetHost: String?
    /// The gateways that enforce the policy, whose firewall logs its drops.
    public var gateways: [String]?

    public init(organization: String?, domain: String?, people: [Person], owners: [String: String], mailHost: String?, mailAddress: String?,
                internetHost: String?, gateways: [String]? = nil) {
        self.gateways = gateways
        self.organization = organization
        self.domain = domain
        self.people = people
        self.owners = owners
        self.mailHost = mailHost
        self.mailAddress = mailAddress
        self.internetHost = internetHost
    }

    /// The hosts whose logs the watcher reads: the gateways, then the internet host.
    public var loggedHosts: [String] { (gateways ?? []) + [internetHost].compactMap { $0 } }

    /// The hosts a person owns, in name order (their workstation first when they have several).
    public func hosts(of user: String) -> [String] {
        owners.filter { $0.value == user }.map(\.key).sorted()
    }
}

/// The process that watches one environment from apply to destroy: it follows every network's
/// capture file (the newest of each; a reset begins new ones) and writes the decoded events to the
/// timeline. It runs until it is stopped (SIGTERM) and then writes what it holds.
public final class Watcher: @unchecked Sendable {
    public let settings: WatchSettings
    public let store: TimelineStore
    private let writer: TimelineWriter
    private let drops = RecentDrops()
    private var followers: [String: CaptureFollower] = [:]
    private let lock = NSLock()
    private var stopping = false

    public init(settings: WatchSettings, store: TimelineStore) {
        self.settings = settings
        self.store = store
        writer = TimelineWriter(store: store, keepBytes: settings.keepBytes, after: store.lastTime())
    }

    /// The newest capture file of each network.
    func newestCaptures() -> [String: String] {
        Self.newestCaptures(in: settings.captures, networks: settings.book.networks.map(\.name))
    }

    /// The newest capture file of each of `networks` in `folder` (`NETWORK-yyyyMMddTHHmmss.SSSZ.pcap`,
    /// the stamp sorting by time; `lan-b-...` is not `lan`'s).
    public static func newestCaptures(in folder: String, networks: [String]) -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var newest: [String: String] = [:]
        for network in networks {
            let prefix = network + "-"
            let files = names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".pcap") && isStamp($0.dropFirst(prefix.count).dropLast(5)) }
            if let last = files.max() { newest[network] = folder + "/" + last }
        }
        return newest
    }

    static func isStamp(_ text: Substring) -> Bool {
        text.count == 20 && text.hasSuffix("Z") && text.first?.isNumber == true
    }

    /// Follows captures until `stop()`; returns when everything read is written.
    public func run() {
        var retired: [CaptureFollower] = []
        var lastExpiry = Date.distantPast
        var lastKeep = Date.distantPast
        var failedAt: [String: Date] = [:]
        while !lock.withLock({ stopping }) {
            let now = Date()
            for (network, file) in newestCaptures() {
                // A new file of the network, or its tshark gone (it failed): follow it anew.
                if let current = followers[network], current.file == file, current.isRunning { continue }
                if let failed = failedAt[network], now.timeIntervalSince(failed) < 5 { continue }
                let follower = CaptureFollower(network: network, file: file, book: settings.book) { [writer, drops] events in writer.add(drops.hold(events)) }
                do {
                    try follower.start()
                } catch {
                    failedAt[network] = now
                    FileHandle.standardError.write(Data("decoynet watcher: cannot follow \(file): \(error)\n".utf8))
                    continue
                }
                if let old = followers[network] {
                    if old.file == file {
                        FileHandle.standardError.write(Data("decoynet watcher: tshark on \(network) ended; following \(file) again\n".utf8))
                    }
                    old.finish()
                    retired.append(old)
                }
                followers[network] = follower
            }
            retired.removeAll { !$0.isRunning }
            if now.timeIntervalSince(lastExpiry) >= 1 {
                for follower in followers.values { follower.expire(now: now) }
                lastExpiry = now
            }
            if now.timeIntervalSince(lastKeep) >= 10 {
                keep()
                lastKeep = now
            }
            writer.add(drops.release(now: now))
            // Events are written in time order: none before every network's decoder has passed it.
            writer.flush(now: followers.values.map { $0.watermark(now: now) }.min() ?? now)
            usleep(100_000)
        }
        for follower in followers.values { follower.finish() }
        for follower in retired + followers.values { follower.wait() }
        writer.add(drops.release(now: .distantFuture))
        writer.close()
    }

    /// Within `keepBytes`: the oldest capture files that no follower reads any more are removed
    /// first, then the oldest parts of the timeline.
    func keep() {
        let manager = FileManager.default
        let current = Set(followers.values.map(\.file))
        let captures = ((try? manager.contentsOfDirectory(atPath: settings.captures)) ?? []).filter { $0.hasSuffix(".pcap") }
            .map { settings.captures + "/" + $0 }
        var total = captures.reduce(0) { $0 + fileSize($1) } + store.files.reduce(0) { $0 + fileSize($1) }
        // Oldest first by their stamp (after the network's name).
        let closed = captures.filter { !current.contains($0) }
            .sorted { ($0.split(separator: "-").last ?? "") < ($1.split(separator: "-").last ?? "") }
        for file in closed where total > settings.keepBytes {
            total -= min(total, fileSize(file))
            try? manager.removeItem(atPath: file)
        }
        if total > settings.keepBytes {
            store.dropOldest(keepBytes: settings.keepBytes, otherBytes: current.reduce(0) { $0 + fileSize($1) })
        }
    }

    public func stop() {
        lock.withLock { stopping = true }
    }

    /// The gateways' firewall drops, each a `flow` told by its gateway (and no longer by the
    /// packets as unanswered).
    public func add(drops new: [FirewallDrop]) {
        writer.add(drops.add(new).map { $0.event(settings.book) })
    }

    /// Events of the infrastructure's logs (the internet host's).
    public func add(logged events: [TimelineEvent]) {
        writer.add(events)
    }
}
