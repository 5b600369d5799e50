/// A person of the company, with everything but the password resolved.
public struct Person: Sendable, Equatable, Codable {
    public var user: String
    public var name: String
    public var department: String?
    public var title: String?
    /// Given in the topology; otherwise the compiler derives one.
    public var password: String?

    public var firstName: String { String(name.split(separator: " ").first ?? Substring(user)) }
}

/// The people of a topology: those written, then those generated, users unique.
///
/// Generation is a fixed pseudo-random sequence of the seed (SplitMix64), so the same file always
/// makes the same company.
public enum Personas {
    static let firstNames = ["Taro", "Hanako", "Kenji", "Yuki", "Aiko", "Hiroshi", "Emma", "Liam", "Olivia", "Noah", "Sofia", "Lucas",
                             "Mia", "Ethan", "Amelia", "James", "Chloe", "Daniel", "Grace", "Samuel", "Nora", "David", "Hana", "Ryo",
                             "Sakura", "Mark", "Laura", "Peter", "Anna", "Thomas", "Julia", "Martin", "Sarah", "Paul", "Maria", "Jonas"]
    static let lastNames = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato",
                            "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson", "Thomas",
                            "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson"]
    static let titles: [String: [String]] = [
        "default": ["Manager", "Specialist", "Coordinator", "Associate", "Analyst", "Assistant"],
        "Sales": ["Account Manager", "Sales Representative", "Sales Director", "Inside Sales Associate"],
        "Finance": ["Accountant", "Financial Analyst", "Controller", "Payroll Specialist"],
        "Engineering": ["Software Engineer", "Senior Engineer", "Engineering Manager", "QA Engineer"],
        "IT": ["System Administrator", "Network Engineer", "Help Desk Technician", "IT Manager"],
        "HR": ["HR Generalist", "Recruiter", "HR Manager"],
    ]

    /// `^[a-z][a-z0-9_-]{0,31}$`, what Debian's useradd and Samba accept alike.
    public static func isValidUser(_ user: String) -> Bool {
        let bytes = Array(user.utf8)
        guard let first = bytes.first, bytes.count <= 32, (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(first) else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    public static func all(_ topology: Topology) -> [Person] {
        var people = topology.people.map { spec in
            Person(user: spec.user.value, name: spec.name?.value ?? spec.user.value, department: spec.department?.value,
                   title: spec.title?.value, password: spec.password?.value)
        }
        var users = Set(people.map(\.user))
        let departments = topology.departments.map(\.value)
        for generator in topology.peopleGenerators {
            people += generate(generator.count.value, seed: generator.seed, departments: departments, avoiding: &users)
        }
        return people
    }

    static func generate(_ count: Int, seed: Int, departments: [String], avoiding users: inout Set<String>) -> [Person] {
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: seed))
        var people: [Person] = []
        // The next suffix to try for each base name: every one below it is taken (users only grow),
        // so the first free name is the same as searching from 2, without searching from 2 each time.
        var nextSuffix: [String: Int] = [:]
        for index in 0 ..< count {
            let first = firstNames[random.next(below: firstNames.count)]
            let last = lastNames[random.next(below: lastNames.count)]
            let department = departments.isEmpty ? nil : departments[index % departments.count]
            let choices = titles[department ?? ""] ?? titles["default"]!
            let title = choices[random.next(below: choices.count)]
            let base = (String(first.prefix(1)) + last).lowercased()
            var user = base
            var suffix = nextSuffix[base] ?? 2
            while users.contains(user) {
                user = base + String(suffix)
                suffix += 1
            }
            nextSuffix[base] = suffix
            users.insert(user)
            people.append(Person(user: user, name: first + " " + last, department: department, title: title, password: nil))
        }
        return people
    }
}
