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

    public init(organization: String?, domain: String?, people: [Person], owners: [String: String], mailHost: String?, mailAddress: String?,
                internetHost: String?) {
        self.organization = organization
        self.domain = domain
        self.people = people
        self.owners = owners
        self.mailHost = mailHost
        self.mailAddress = mailAddress
        self.internetHost = internetHost
    }

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
        let names = (try? FileManager.default.contentsOfDirectory(atPath: settings.captures)) ?? []
        var newest: [String: String] = [:]
        for network in settings.book.networks.map(\.name) {
            // `NETWORK-yyyyMMddTHHmmss.SSSZ.pcap`: the stamp sorts by time.
            let prefix = network + "-"
            let files = names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".pcap") && Self.isStamp($0.dropFirst(prefix.count).dropLast(5)) }
            if let last = files.max() { newest[network] = settings.captures + "/" + last }
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
        while !lock.withLock({ stopping }) {
            for (network, file) in newestCaptures() where followers[network]?.file != file {
                let follower = CaptureFollower(network: network, file: file, book: settings.book) { [writer] events in writer.add(events) }
                do {
                    try follower.start()
                } catch {
                    FileHandle.standardError.write(Data("decoynet watcher: \(error)\n".utf8))
                    continue
                }
                if let old = followers[network] {
                    old.finish()
                    retired.append(old)
                }
                followers[network] = follower
            }
            let now = Date()
            if now.timeIntervalSince(lastExpiry) >= 1 {
                for follower in followers.values { follower.expire(now: now) }
                lastExpiry = now
            }
            // Events are written in time order: none before every network's decoder has passed it.
            writer.flush(now: followers.values.map { $0.watermark(now: now) }.min() ?? now)
            usleep(100_000)
        }
        for follower in followers.values { follower.finish() }
        for follower in retired + followers.values { follower.wait() }
        writer.close()
    }

    public func stop() {
        lock.withLock { stopping = true }
    }
}
