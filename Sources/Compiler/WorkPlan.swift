import Digest
import Topology

/// A person's working weeks, drawn once from the environment and the person, so the same topology
/// always makes the same company at work and no two people keep the same hours. The plan goes in
/// the seed of the person's own workstation, whose activity agent follows it with real clients over
/// the decoy network; the agent draws nothing itself.
///
/// A plan is `WorkPlan.days` days long (13 weeks, day 0 a Monday) and repeats; each day is a line
/// of `MINUTE:EVENT` items in the organisation's local time, empty on weekends and days off.
public struct WorkPlan: Sendable, Equatable {
    /// What a person does; the letters are the plan's own short form.
    public enum Event: Sendable, Equatable {
        /// Logs on to the directory (Kerberos, then LDAP): at arrival and back from lunch.
        case logon
        /// Reads their own mail (IMAP).
        case readMail
        /// Mails a colleague, by place in `colleagues` (SMTP).
        case mail(Int)
        /// Opens, edits and saves a document, by place in `documents` (SMB).
        case document(Int)
        /// Browses a site through the proxy, by place in `sites` (HTTP).
        case browse(Int)
        /// Leaves for lunch.
        case lunch
        /// Leaves for the day (logs off).
        case leave

        public var code: String {
            switch self {
            case .logon: "L"
            case .readMail: "R"
            case let .mail(index): "M\(index)"
            case let .document(index): "F\(index)"
            case let .browse(index): "B\(index)"
            case .lunch: "X"
            case .leave: "Q"
            }
        }
    }

    public struct Item: Sendable, Equatable {
        /// Minutes after local midnight.
        public var minute: Int
        public var event: Event
    }

    /// 13 weeks: long enough that a watcher of several weeks sees no repeat, short enough for a seed.
    public static let days = 91
    /// Day 0 of every plan, a Monday: the agent finds today's line as (date - epoch) mod `days`.
    public static let epoch = "2024-01-01"

    public var person: String
    /// Where the agent finds the company's services, by name; nil when the environment has none.
    public var directory: String?
    public var realm: String?
    public var fileServer: String?
    public var mailServer: String?
    public var proxy: String?
    /// Users this person mails, their department's first.
    public var colleagues: [String]
    /// Documents this person works on, as `SHARE/PATH` on the file server.
    public var documents: [String]
    /// Pages this person browses.
    public var sites: [String]
    /// `WorkPlan.days` days, Monday first.
    public var schedule: [[Item]]

    /// A day in the plan's short form: `541:L 560:R 575:F1 ...`.
    public static func line(_ items: [Item]) -> String {
        items.map { "\($0.minute):\($0.event.code)" }.joined(separator: " ")
    }

    /// The plan of the person who owns `host`, when the environment is at work and the host has an owner.
    public static func plan(for host: ResolvedHost, in environment: ResolvedEnvironment) -> WorkPlan? {
        guard let activity = environment.activity, let person = host.owner else { return nil }
        return plan(for: person, in: environment, activity: activity)
    }

    public static func plan(for person: Person, in environment: ResolvedEnvironment, activity: ActivitySpec) -> WorkPlan {
        let qualified = { (host: ResolvedHost) in environment.domain.map { host.name + "." + $0 } ?? host.name }
        let directory = environment.hosts.first { DomainNames.isDomainController(services: $0.services) }
        let files = environment.hosts.first { DecoyDocuments.kinds($0).shares && DecoyDocuments.holds($0, in: environment) }
        let mail = environment.hosts.first { host in
            DecoyDocuments.kinds(host).mailboxes && host.services.contains { $0.name == "imap" }
        }
        let proxy = environment.hosts.first { $0.services.contains { $0.name == "squid" || $0.port == 3128 } }
        let web = environment.hosts.filter { host in host.services.contains { $0.name == "http" } && host.name != environment.internetHost }

        var random = SplitMix64(seed: SHA256.hash("decoynet/activity/\(environment.name)/\(person.user)").prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
        let sameDepartment = environment.people.filter { $0.user != person.user && $0.department != nil && $0.department == person.department }
        let others = environment.people.filter { $0.user != person.user && ($0.department == nil || $0.department != person.department) }
        var colleagues = pick(sameDepartment.map(\.user), count: 5, random: &random)
        colleagues += pick(others.map(\.user), count: 8 - colleagues.count, random: &random)
        let organization = environment.organization ?? environment.description ?? environment.name
        let documents = files == nil ? [] : DecoyDocuments.shareDocuments(of: person, in: environment, organization: organization)
        var sites: [String] = []
        for host in web {
            sites.append("http://\(qualified(host))/")
            if !environment.people.isEmpty { sites.append("http://\(qualified(host))/staff.html") }
        }

        var plan = WorkPlan(person: person.user, directory: directory.map(qualified), realm: directory == nil ? nil : environment.domain?.uppercased(),
                            fileServer: files.map(qualified), mailServer: mail.map(qualified),
                            proxy: proxy.map { qualified($0) + ":3128" }, colleagues: colleagues, documents: documents, sites: sites, schedule: [])
        for day in 0 ..< days {
            plan.schedule.append(plan.day(day, activity: activity, random: &random))
        }
        return plan
    }

    /// One day: nothing on weekends and one day in 25 or so; otherwise arrival, mail, work in spells
    /// of 8-43 minutes, lunch, more work, leaving.
    private func day(_ day: Int, activity: ActivitySpec, random: inout SplitMix64) -> [Item] {
        // Drawn every day, so a weekend does not shift the days after it.
        let absent = random.next(below: 25) == 0
        let arrival = max(0, activity.workdayStart - 20 + random.next(below: 46))
        let departure = min(activity.workdayEnd - 30 + random.next(below: 81), 24 * 60 - 2)
        let middle = (activity.workdayStart + activity.workdayEnd) / 2
        let lunchStart = max(arrival + 60, min(middle - 30 + random.next(below: 61), departure - 90))
        let lunchEnd = lunchStart + 40 + random.next(below: 26)
        var gaps: [Int] = []
        for _ in 0 ..< 40 { gaps.append(8 + random.next(below: 36)) }
        var choices: [Int] = []
        for _ in 0 ..< 40 { choices.append(random.next(below: 100)) }
        var indexes: [Int] = []
        for _ in 0 ..< 40 { indexes.append(random.next(below: 1 << 20)) }
        guard day % 7 < 5, !absent else { return [] }

        var items = [Item(minute: arrival, event: directory != nil ? .logon : .readMail)]
        if directory != nil, mailServer != nil { items.append(Item(minute: arrival + 3 + gaps[0] % 5, event: .readMail)) }
        var minute = items.last!.minute
        var lunched = false
        for step in 0 ..< 40 {
            minute += gaps[step]
            if !lunched, minute >= lunchStart {
                items.append(Item(minute: lunchStart, event: .lunch))
                items.append(Item(minute: lunchEnd, event: directory != nil ? .logon : .readMail))
                minute = lunchEnd
                lunched = true
                continue
            }
            guard minute < departure - 5 else { break }
            if let event = work(choices[step], index: indexes[step]) { items.append(Item(minute: minute, event: event)) }
        }
        items.append(Item(minute: departure, event: .leave))
        return items
    }

    /// A spell of work: a document 30%, mail read 25%, a page 25% (through the proxy where there is
    /// one), a mail sent 20%, each only where the company has the service.
    private func work(_ choice: Int, index: Int) -> Event? {
        switch choice {
        case 0 ..< 30 where !documents.isEmpty && fileServer != nil: .document(index % documents.count)
        case 30 ..< 55 where mailServer != nil: .readMail
        case 55 ..< 80 where !sites.isEmpty: .browse(index % sites.count)
        case 80 ..< 100 where !colleagues.isEmpty && mailServer != nil: .mail(index % colleagues.count)
        default: nil
        }
    }

    private static func pick(_ users: [String], count: Int, random: inout SplitMix64) -> [String] {
        var pool = users
        var picked: [String] = []
        while picked.count < count, !pool.isEmpty {
            picked.append(pool.remove(at: random.next(below: pool.count)))
        }
        return picked
    }
}
