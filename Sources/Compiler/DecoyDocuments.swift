import Digest
import Topology

/// The documents and mail a company's people leave behind, generated from the topology: a few
/// files in each person's home and each department's share, a few messages in each mailbox. The
/// same file always gives the same documents; their ages (days before the host's first boot,
/// spread over the past three years) are applied inside the guest by `ageCommand`.
enum DecoyDocuments {
    /// Lines of `DAYS PATH`, read by `ageCommand`.
    static let agesPath = "/etc/decoynet/decoy-ages"
    /// One process for every file (perl-base is in every Debian system): a `touch` per file costs
    /// minutes under emulation for a company's worth of documents.
    static let ageCommand = "perl -ne 'chomp; my ($d, $p) = split / /, $_, 2; my $t = time - $d * 86400; utime $t, $t, $p' \(agesPath)"

    /// Which documents a host holds: a file server (not the directory's own SMB) the homes and
    /// shares, a mail server without an owner the mailboxes.
    static func kinds(_ host: ResolvedHost) -> (shares: Bool, mailboxes: Bool) {
        let names = Set(host.services.map(\.name))
        return (names.contains("smb") && !DomainNames.isDomainController(services: host.services), names.contains("smtp") && host.owner == nil)
    }

    /// Whether the host holds any documents (and so needs `ageCommand`).
    static func holds(_ host: ResolvedHost, in environment: ResolvedEnvironment) -> Bool {
        let kinds = kinds(host)
        return !environment.people.isEmpty && (kinds.shares || kinds.mailboxes)
    }

    static func files(_ host: ResolvedHost, in environment: ResolvedEnvironment, organization: String) -> [ResolvedFile] {
        guard holds(host, in: environment) else { return [] }
        let (shares, mailboxes) = kinds(host)
        var files: [ResolvedFile] = []
        var ages: [String] = []
        func add(_ path: String, _ text: String, owner: String?, mode: String = "0644", days: Int) {
            files.append(ResolvedFile(path: path, contents: Array(text.utf8), owner: owner, mode: mode))
            ages.append("\(days) \(path)")
        }
        if shares {
            for person in environment.people {
                var random = SplitMix64(seed: seed("\(environment.name)/home/\(person.user)"))
                for document in personal(person, organization: organization, random: &random) {
                    add("/home/\(person.user)/Documents/\(document.name)", document.text, owner: person.user, days: document.days)
                }
            }
            for department in environment.departments {
                var random = SplitMix64(seed: seed("\(environment.name)/share/\(department)"))
                let folder = "/srv/shares/\(SeedRenderer.groupName(department))"
                let members = environment.people.filter { $0.department == department }
                for document in departmental(department, members: members, organization: organization, random: &random) {
                    add("\(folder)/\(document.name)", document.text, owner: nil, mode: "0664", days: document.days)
                }
            }
        }
        if mailboxes {
            let domain = environment.domain ?? environment.name
            for person in environment.people {
                var random = SplitMix64(seed: seed("\(environment.name)/mail/\(person.user)"))
                add("/var/mail/\(person.user)", mailbox(person, people: environment.people, domain: domain, organization: organization, random: &random),
                    owner: person.user, mode: "0600", days: 1 + random.next(below: 30))
            }
        }
        files.append(ResolvedFile(path: agesPath, contents: Array((ages.joined(separator: "\n") + "\n").utf8), owner: nil, mode: "0644"))
        return files
    }

    /// The documents a person works on, as `SHARE/PATH` on the file server: their own (in the share
    /// `homes` gives them, named by their user) and their department's, but its README.
    static func shareDocuments(of person: Person, in environment: ResolvedEnvironment, organization: String) -> [String] {
        var random = SplitMix64(seed: seed("\(environment.name)/home/\(person.user)"))
        var paths = personal(person, organization: organization, random: &random).map { "\(person.user)/Documents/\($0.name)" }
        if let department = person.department {
            var random = SplitMix64(seed: seed("\(environment.name)/share/\(department)"))
            let members = environment.people.filter { $0.department == department }
            paths += departmental(department, members: members, organization: organization, random: &random)
                .filter { $0.name != "README.txt" }.map { "\(SeedRenderer.groupName(department))/\($0.name)" }
        }
        return paths
    }

    struct Document {
        var name: String
        var text: String
        var days: Int
    }

    static func personal(_ person: Person, organization: String, random: inout SplitMix64) -> [Document] {
        let year = 2026 - random.next(below: 3)
        let quarter = 1 + random.next(below: 4)
        let department = person.department ?? "General"
        return [
            Document(name: "notes-\(year)-Q\(quarter).txt", text: """
                \(person.name), \(person.title ?? department)
                Notes for Q\(quarter) \(year)

                - follow up with \(department) on open items
                - review vendor quotes before the end of the month
                - VPN token renewal: ask IT

                """, days: 30 + random.next(below: 1000)),
            Document(name: "\(SeedRenderer.groupName(department))-expenses-\(year).csv", text: expenses(person.name, year: year, random: &random),
                     days: 30 + random.next(below: 1000)),
            Document(name: "todo.txt", text: "TODO\n- submit timesheet\n- \(organization) all-hands on Friday\n- update password before it expires\n",
                     days: 1 + random.next(below: 60)),
        ]
    }

    static func departmental(_ department: String, members: [Person], organization: String, random: inout SplitMix64) -> [Document] {
        let year = 2026 - random.next(below: 2)
        var staff = "name,title,user\n"
        for person in members { staff += "\(person.name),\(person.title ?? ""),\(person.user)\n" }
        return [
            Document(name: "\(department) staff list.csv", text: staff, days: 10 + random.next(below: 200)),
            Document(name: "\(department) budget \(year).csv", text: budget(department, year: year, random: &random), days: 60 + random.next(below: 700)),
            Document(name: "README.txt", text: "\(organization) - \(department) shared folder.\nDo not store personal data here.\n",
                     days: 400 + random.next(below: 700)),
        ]
    }

    static func expenses(_ name: String, year: Int, random: inout SplitMix64) -> String {
        var text = "date,description,amount\n"
        let items = ["Taxi", "Hotel", "Client lunch", "Train", "Conference fee", "Office supplies"]
        for month in 1 ... 6 {
            text += "\(year)-\(month < 10 ? "0" : "")\(month)-\(10 + random.next(below: 18)),\(items[random.next(below: items.count)]),\(20 + random.next(below: 480)).00\n"
        }
        return text
    }

    static func budget(_ department: String, year: Int, random: inout SplitMix64) -> String {
        var text = "quarter,planned,actual\n"
        for quarter in 1 ... 4 {
            let planned = 50_000 + random.next(below: 150_000)
            text += "Q\(quarter) \(year),\(planned),\(planned - 10_000 + random.next(below: 20_000))\n"
        }
        return text
    }

    /// An mbox with a few messages from colleagues, oldest first.
    static func mailbox(_ person: Person, people: [Person], domain: String, organization: String, random: inout SplitMix64) -> String {
        let subjects = ["Meeting notes", "Re: quarterly figures", "Invoice for approval", "Team lunch on Friday", "Updated schedule", "Password expiry reminder"]
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct"]
        var text = ""
        for index in 0 ..< 3 {
            let sender = people[random.next(below: people.count)]
            let subject = subjects[random.next(below: subjects.count)]
            let day = 1 + random.next(below: 28)
            let month = months[min(months.count - 1, 3 * index + random.next(below: 3))]
            let date = "\(days[random.next(below: days.count)]) \(month) \(day < 10 ? " " : "")\(day) 09:\(10 + random.next(below: 49)):00 2026"
            text += """
                From \(sender.user)@\(domain) \(date)
                From: \(sender.name) <\(sender.user)@\(domain)>
                To: \(person.name) <\(person.user)@\(domain)>
                Subject: \(subject)
                Message-ID: <\(index).\(person.user).\(sender.user)@\(domain)>

                Hi \(person.name.split(separator: " ").first.map(String.init) ?? person.name),

                please see my note on "\(subject.lowercased())" before our next meeting.

                Regards,
                \(sender.name)
                \(organization)


                """
        }
        return text
    }

    static func seed(_ key: String) -> UInt64 {
        SHA256.hash("decoynet/documents/\(key)").prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
