import Digest
import Foundation
import Hypervisor
import LibvirtXML
import Naming
import Observe

/// One infection run (OBSERVE.md, "`decoynet run`"): a sample mailed to a person from the internet
/// host or placed on a host, opened as its person, watched from outside until it calls home, moves,
/// falls quiet or its time is up; then kept running or reset with evidence; everything in a sealed
/// run folder.
public enum InfectionRun {
    public static let sampleLimit = 64 << 20

    public struct Request: Sendable {
        public var environment: String
        public var sample: String
        /// A person's user: the sample is mailed to them.
        public var to: String?
        /// A host: the sample is placed in its owner's Downloads.
        public var on: String?
        public var subject: String?
        public var open: Bool
        public var until: RunEnd?
        public var duration: TimeInterval
        public var thenReset: Bool
        /// The runs folder for this environment's runs (default: beside its timeline).
        public var directory: String?

        public init(environment: String, sample: String, to: String? = nil, on: String? = nil, subject: String? = nil, open: Bool = false,
                    until: RunEnd? = nil, duration: TimeInterval = 1800, thenReset: Bool = false, directory: String? = nil) {
            self.environment = environment
            self.sample = sample
            self.to = to
            self.on = on
            self.subject = subject
            self.open = open
            self.until = until
            self.duration = duration
            self.thenReset = thenReset
            self.directory = directory
        }
    }

    /// Why a run did not start (`badInput`: nothing was delivered) or did not get its sample in.
    public enum Failure: Error, CustomStringConvertible {
        case badInput(String)
        case deliveryFailed(String)

        public var description: String {
            switch self {
            case let .badInput(text), let .deliveryFailed(text): text
            }
        }
    }

    /// `run.json`.
    public struct Record: Sendable, Codable {
        public struct Sample: Sendable, Codable {
            public var name: String
            public var sha256: String
            public var size: Int
        }

        public struct Mark: Sendable, Codable {
            public var name: String
            public var time: String
            public var event: TimelineEvent?
        }

        public var id: String
        public var environment: String
        public var sample: Sample
        public var deliveredTo: String
        public var openedOn: [String]
        public var started: String
        public var ended: String
        public var endedBy: String
        public var milestones: [Mark]
        /// The run's folder (not in the contract's list; where everything above is kept).
        public var folder: String
        /// The reset's evidence folder, with `--then reset`.
        public var reset: String?

        enum CodingKeys: String, CodingKey {
            case id, environment, sample, deliveredTo = "delivered_to", openedOn = "opened_on", started, ended, endedBy = "ended_by", milestones
            case folder, reset
        }
    }

    /// What the run reports while it goes: progress lines and each timeline event as it comes.
    public enum Progress: Sendable {
        case info(String)
        case event(TimelineEvent)
        case milestone(Milestone)
    }
}

extension Operations {
    /// Carries out one run. Throws `InfectionRun.Failure` before anything is delivered when the
    /// input is wrong, and when delivery or opening fails.
    public func run(_ request: InfectionRun.Request, runs: String = TimelineStore.rootFromEnvironment, cancellation: Cancellation = Cancellation(),
                    progress: @escaping @Sendable (InfectionRun.Progress) -> Void = { _ in }) async throws -> InfectionRun.Record {
        typealias Failure = InfectionRun.Failure
        let store = TimelineStore(root: runs, environment: request.environment)
        guard let settings = store.watchSettings() else {
            throw Failure.badInput("\(request.environment) is not watched (no \(store.settings)): apply a topology with an internet host or 'observe: true' first")
        }
        let facts = settings.facts
        // A sample goes only into guests held behind their tables (and their reset can start them again).
        do {
            try ensureIsolation(request.environment, events: { progress(.info($0.message)) }, then: "nothing was delivered")
        } catch {
            throw Failure.badInput("\(error)")
        }
        // The sample.
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: request.sample, isDirectory: &isFolder), !isFolder.boolValue,
              let sampleData = FileManager.default.contents(atPath: request.sample) else {
            throw Failure.badInput("no sample file \(request.sample)")
        }
        guard sampleData.count <= InfectionRun.sampleLimit else {
            throw Failure.badInput("the sample is \(sampleData.count) bytes, over the limit of 64 MiB")
        }
        let sampleName = URL(fileURLWithPath: request.sample).lastPathComponent
        let sampleHash = SHA256.hash(Array(sampleData)).hexString
        // Where it goes.
        var deliveredTo: String
        var target: String?
        var person: EnvironmentFacts.Person?
        let hosts = Set(settings.book.hosts.values)
        if let user = request.to {
            guard let found = facts.people.first(where: { $0.user == user }) else {
                let known = facts.people.map(\.user).prefix(10).joined(separator: ", ")
                throw Failure.badInput("no person '\(user)' in \(request.environment)" + (known.isEmpty ? " (it has no people)" : "; its people include \(known)"))
            }
            person = found
            guard facts.mailHost != nil, facts.mailAddress != nil, let mailbox = found.mail else {
                throw Failure.badInput("\(request.environment) has no mail server (a host with 'smtp' and a 'domain') to deliver --to \(user)")
            }
            guard facts.internetHost != nil else {
                throw Failure.badInput("\(request.environment) has no internet host to send the mail from: add a host of template internet")
            }
            deliveredTo = mailbox
            if request.open {
                guard let workstation = facts.hosts(of: user).first else {
                    throw Failure.badInput("\(user) owns no host to open the sample on: give a host 'owner: \(user)'")
                }
                target = workstation
            }
        } else if let host = request.on {
            guard hosts.contains(host) else {
                throw Failure.badInput("no host '\(host)' in \(request.environment); its hosts are \(hosts.sorted().joined(separator: ", "))")
            }
            target = host
            let owner = facts.owners[host]
            person = owner.flatMap { user in facts.people.first { $0.user == user } }
            deliveredTo = host + ":" + downloads(person?.user) + "/" + sampleName
        } else {
            throw Failure.badInput("give --to USER (mailed) or --on HOST (placed)")
        }
        // Every host the run acts in must be running, and have the guest agent it acts through.
        let acting = [target, request.to == nil ? nil : facts.internetHost, request.to == nil ? nil : facts.mailHost].compactMap { $0 }
        for host in acting {
            let state = try? await hypervisor.domainState(name: Naming.object(environment: request.environment, name: host))
            guard state == .running else { throw Failure.badInput("host \(host) of \(request.environment) is not running") }
        }
        // The mail server is only spoken to over SMTP; the PC and the internet host act through their agents.
        for host in acting where host != facts.mailHost {
            let definition = try? await hypervisor.domainXML(name: Naming.object(environment: request.environment, name: host))
            guard definition.flatMap(DomainMetadata.init(definition:))?.stealth == true else { continue }
            throw Failure.badInput("host \(host) of \(request.environment) is stealthy: it has no guest agent to "
                + (host == target ? "place or open the sample with" : "send the mail from") + "; mail it (--to) without --open, or choose a host that is not stealthy")
        }

        // The run's folder.
        let started = Date()
        let id = Self.runID(started)
        let folder = (request.directory ?? store.folder) + "/" + id
        try FileManager.default.createDirectory(atPath: folder + "/sample", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try sampleData.write(to: URL(fileURLWithPath: folder + "/sample/" + sampleName))
        let tail = TimelineTail(path: store.current, fromEnd: true)
        var marks: [Milestone] = []
        // Each milestone also goes into the environment's timeline, for whoever follows it live.
        func mark(_ milestone: Milestone) {
            marks.append(milestone)
            store.append([milestone.timelineEvent])
        }
        let exec = GuestExec(hypervisor: hypervisor)
        func domain(_ host: String) -> String { Naming.object(environment: request.environment, name: host) }

        // Delivery: the mail from outside, over SMTP from the internet host, as a phishing mail arrives.
        if let person, let mailbox = person.mail, request.to != nil, let internet = facts.internetHost, let server = facts.mailAddress {
            let sender = "billing@" + Self.senderDomain
            let mail = Self.mail(from: sender, to: mailbox, name: person.name, subject: request.subject ?? "Invoice \(id.suffix(4)) overdue",
                                 organization: facts.organization, attachment: sampleName, bytes: sampleData, date: started)
            try Data(mail.utf8).write(to: URL(fileURLWithPath: folder + "/mail.eml"))
            let staged = "/tmp/decoynet-\(id).eml"
            do {
                try await exec.write(domain: domain(internet), path: staged, bytes: Array(mail.utf8))
                let sent = try await exec.run(domain: domain(internet), arguments: [
                    "curl", "--silent", "--show-error", "--max-time", "60", "--url", "smtp://\(server):25/\(Self.senderDomain)",
                    "--mail-from", sender, "--mail-rcpt", mailbox, "--upload-file", staged,
                ], timeout: 90)
                _ = try? await exec.run(domain: domain(internet), arguments: ["rm", "-f", staged], timeout: 10)
                guard sent.exitCode == 0 else {
                    throw Failure.deliveryFailed("the mail server did not take the mail: \(sent.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure.deliveryFailed("the mail could not be sent from \(internet): \(error)")
            }
            mark(Milestone(name: "delivered", time: Date()))
            progress(.info("delivered \(sampleName) to \(mailbox) from \(sender) through \(internet)"))
        }
        // Onto the host, where its person finds it (the attachment saved, or a download).
        var openedOn: [String] = []
        if let host = target {
            let user = person?.user
            let path = downloads(user) + "/" + sampleName
            do {
                let folderMade = try await exec.run(domain: domain(host), arguments: ["mkdir", "-p", downloads(user)], timeout: 20)
                guard folderMade.exitCode == 0 else { throw Failure.deliveryFailed("cannot make \(downloads(user)) on \(host): \(folderMade.stderr)") }
                try await exec.write(domain: domain(host), path: path, bytes: Array(sampleData))
                if let user {
                    _ = try await exec.run(domain: domain(host), arguments: ["chown", "-R", "\(user):\(user)", downloads(user)], timeout: 20)
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure.deliveryFailed("the sample could not be placed on \(host): \(error)")
            }
            if request.to == nil {
                mark(Milestone(name: "delivered", time: Date()))
                progress(.info("placed \(sampleName) at \(host):\(path)"))
            }
            if request.open {
                // The moment it starts: a sample that calls home at once does so before the agent
                // has said the command ran.
                let opening = Date()
                try await open(path: path, as: user, on: host, exec: exec, domain: domain(host), bytes: sampleData)
                openedOn = [host]
                mark(Milestone(name: "opened", time: opening))
                progress(.info("opened \(path) on \(host)" + (user.map { " as \($0)" } ?? " as root")))
            }
        }

        // Watching, until an end.
        let since = marks.last?.time ?? started
        // The opened hosts' usual ports: from the last 10,000 flows before the opening.
        let before = tail.history(store, filter: TimelineFilter(kinds: [.flow], hosts: Set(openedOn), until: since), limit: 10_000)
        var detector = MilestoneDetector(opened: Set(openedOn), since: since, outsideHosts: Set(settings.book.outsideHosts), before: before)
        var events: [TimelineEvent] = []
        var endedBy = "time"
        var ended = Date()
        func take(_ fresh: [TimelineEvent], until limit: Date?) {
            // Milestones in the environment's timeline are runs' own (this one's are in `marks`).
            for event in fresh where event.kind != .milestone && event.time >= started && limit.map({ event.time <= $0 }) ?? true {
                events.append(event)
                progress(.event(event))
                for milestone in detector.observe(event) where !marks.contains(where: { $0.name == milestone.name }) {
                    mark(milestone)
                    progress(.milestone(milestone))
                }
            }
        }
        while true {
            take(tail.read(), until: nil)
            let now = Date()
            if let until = request.until, let reached = detector.reached(until, now: now) {
                endedBy = until.name
                ended = until == .c2 || until == .lateral ? now : reached.time
                break
            }
            if now.timeIntervalSince(since) >= request.duration { endedBy = "time"; ended = now; break }
            if cancellation.isCancelled { endedBy = "interrupted"; ended = now; break }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
        // What was seen before the end but is still on its way through the watcher: the packets'
        // events within a second or two, the gateways' and the internet host's logs at their next
        // read (every 2 s).
        try? await Task.sleep(nanoseconds: facts.loggedHosts.isEmpty ? 1_500_000_000 : 4_500_000_000)
        take(tail.read(), until: ended)
        mark(Milestone(name: "ended", time: ended))
        progress(.info("ended by \(endedBy) after \(String(format: "%.1f", ended.timeIntervalSince(started)))s"))

        // The run's timeline with its milestones, and its packets.
        let timeline = (events + marks.map(\.timelineEvent)).enumerated()
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        try Data(timeline.map { $0.jsonLine() + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: folder + "/timeline.jsonl"))
        try cutCaptures(settings: settings, from: started, to: ended, into: folder + "/pcap")
        // The sample's contacts: those of the hosts it was opened on (the mail server's lookups
        // while the mail came in are not the sample's).
        let own = openedOn.isEmpty ? events : events.filter { $0.src?.host.map(openedOn.contains) ?? false }
        let stix = StixBundle(run: id, sample: .init(name: sampleName, sha256: sampleHash, size: sampleData.count), created: started,
                              domain: facts.domain, outsideHosts: Set(settings.book.outsideHosts), events: own)
        try Data(stix.json.utf8).write(to: URL(fileURLWithPath: folder + "/stix.json"))

        // Then: keep, or reset the opened hosts with their evidence into the run's folder.
        var resetFolder: String?
        if request.thenReset, !openedOn.isEmpty {
            progress(.info("resetting \(openedOn.joined(separator: ", ")) with evidence"))
            // A reset that cannot run leaves the hosts as the sample left them; the run's record is written all the same.
            do {
                let report = try await reset(request.environment, options: Resetter.Options(hosts: openedOn, evidenceDirectory: folder + "/reset"))
                resetFolder = report.evidence
                if !report.succeeded { progress(.info("warning: the reset did not finish: \(report.steps.filter { !$0.completed }.map(\.step).joined(separator: ", "))")) }
            } catch {
                progress(.info("warning: the reset did not run, \(openedOn.joined(separator: ", ")) run on as the sample left them: \(error)"))
            }
        }

        let record = InfectionRun.Record(
            id: id, environment: request.environment, sample: .init(name: sampleName, sha256: sampleHash, size: sampleData.count),
            deliveredTo: deliveredTo, openedOn: openedOn, started: TimelineEvent.timeText(started), ended: TimelineEvent.timeText(ended),
            endedBy: endedBy, milestones: marks.map { .init(name: $0.name, time: TimelineEvent.timeText($0.time), event: $0.event) },
            folder: folder, reset: resetFolder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: URL(fileURLWithPath: folder + "/run.json"))
        try Self.writeSums(folder)
        try EvidenceFolder.seal(folder)
        return record
    }

    /// As its person: an executable or a script runs, detached; another type goes to the image's handler.
    private func open(path: String, as user: String?, on host: String, exec: GuestExec, domain: String, bytes: Data) async throws {
        let runnable = bytes.starts(with: Array("#!".utf8)) || bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46])
        var command: [String]
        if runnable {
            _ = try? await exec.run(domain: domain, arguments: ["chmod", "0755", path], timeout: 20)
            command = ["setsid", "-f", path]
        } else {
            let handler = try await exec.run(domain: domain, arguments: ["sh", "-c", "command -v xdg-open || command -v run-mailcap"], timeout: 20)
            let program = handler.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard handler.exitCode == 0, !program.isEmpty else {
                throw InfectionRun.Failure.deliveryFailed("\(host) has no handler to open \(URL(fileURLWithPath: path).lastPathComponent) (no xdg-open or run-mailcap on its image)")
            }
            command = ["setsid", "-f", program, path]
        }
        if let user { command = ["runuser", "-u", user, "--"] + command }
        // In the person's home, with nothing of the agent's attached to it.
        let line = "cd ~\(user ?? "root") 2>/dev/null; exec " + command.map(Self.shellQuote).joined(separator: " ") + " </dev/null >/dev/null 2>&1"
        let result: ExecResult
        do {
            result = try await exec.run(domain: domain, arguments: ["sh", "-c", line], timeout: 30)
        } catch {
            throw InfectionRun.Failure.deliveryFailed("the sample could not be opened on \(host): \(error)")
        }
        guard result.exitCode == 0 else {
            throw InfectionRun.Failure.deliveryFailed("the sample could not be opened on \(host) (exit status \(result.exitCode)): \(result.stderr)")
        }
    }

    /// Each network's packets between the run's start and end, cut from its capture with editcap.
    private func cutCaptures(settings: WatchSettings, from: Date, to: Date, into folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (network, newest) in Watcher.newestCaptures(in: settings.captures, networks: settings.book.networks.map(\.name)) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/editcap")
            process.arguments = ["-A", String(format: "%.6f", from.timeIntervalSince1970), "-B", String(format: "%.6f", to.timeIntervalSince1970 + 0.001),
                                 newest, folder + "/" + network + ".pcap"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        }
    }

    private func downloads(_ user: String?) -> String { user.map { "/home/\($0)/Downloads" } ?? "/root/Downloads" }

    /// A run's id: its start in UTC, then four hex digits; sorts by time.
    static func runID(_ date: Date) -> String {
        TimelineEvent.basicTime(date) + "-" + String(format: "%04x", UInt16.random(in: 0 ... .max))
    }

    /// Where the phishing mail comes from: a name outside every environment, answered by its internet.
    static let senderDomain = "accounts-payable.example.net"

    static func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The phishing mail: a short text and the sample attached, base64 in lines of 76.
    static func mail(from sender: String, to mailbox: String, name: String, subject: String, organization: String?, attachment: String,
                     bytes: Data, date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let boundary = "decoynet-" + SHA256.hash(Array(bytes)).hexString.prefix(16)
        let encoded = bytes.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let first = name.split(separator: " ").first.map(String.init) ?? name
        // One header line each: no line break of the caller's can add a header or end the head.
        let subject = subject.filter { $0 != "\r" && $0 != "\n" }
        return [
            "From: Accounts Payable <\(sender)>", "To: \(name) <\(mailbox)>", "Subject: \(subject)", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(boundary)@\(senderDomain)>", "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"\(boundary)\"", "", "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "",
            "Dear \(first),", "", "please find attached the overdue invoice for \(organization ?? "your company"). Kindly settle it this week.", "",
            "Best regards,", "Accounts Payable", "", "--\(boundary)",
            "Content-Type: application/octet-stream; name=\"\(attachment)\"", "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=\"\(attachment)\"", "", encoded, "--\(boundary)--", "",
        ].joined(separator: "\r\n")
    }

    /// SHA256SUMS of every file in the folder (the reset's own evidence too), paths relative to it.
    static func writeSums(_ folder: String) throws {
        var lines: [String] = []
        for relative in try FileManager.default.subpathsOfDirectory(atPath: folder).sorted() where relative != "SHA256SUMS" {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder + "/" + relative, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            lines.append("\(try EvidenceFolder.describe(folder + "/" + relative, relativeTo: folder).sha256)  \(relative)\n")
        }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
    }
}
