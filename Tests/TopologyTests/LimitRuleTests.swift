import Testing
@testable import Topology

/// A short file cannot ask for billions: people, hosts, interfaces, files and checks are bounded
/// in all, reported at the entry that goes past the limit, which is left out with what follows.
@Suite struct LimitRuleTests {
    @Test func peopleGeneratorsAreBoundedTogether() {
        expectDiagnostics(validBase + """

        people:
          - { user: tsato }
          - { generate: 10000 }
          - { generate: 9999 }
          - 1️⃣{ generate: 2 }
          - { generate: 10000 }
        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        """, [
            "1": ("too-many-people", "the topology makes more than 20000 people (generators included); this and what follows is left out"),
        ])
    }

    @Test func anAliasedGeneratorCountsEachTime() {
        // The file: one generator of 10,000 written once and named again and again.
        let result = load(validBase + "\npeople: [&g { generate: 10000 }, *g, *g, *g, *g, *g, *g, *g]\nhosts:\n  a: { image: tiny, interfaces: [{ network: lan }] }\n")
        #expect(result.diagnostics.map(\.id).filter { $0 != "image-file-missing" } == ["too-many-people"])
    }

    @Test func hostsAndInterfacesAreBoundedWithTheirCounts() {
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, count: 3000, interfaces: [{ network: lan }] }
          b: { image: tiny, count: 1️⃣2001, interfaces: [{ network: lan }] }
          c: { image: tiny, count: 99999, interfaces: [{ network: lan }] }
        """, [
            "1": ("too-many-hosts", "the topology makes more than 5000 hosts (counts included); this and what follows is left out"),
        ])
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, count: 4000, interfaces: 1️⃣[{ network: lan }, { network: lan }, { network: lan }, { network: lan }, { network: lan }, { network: lan }] }
        """, [
            "1": ("too-many-interfaces", "the topology makes more than 20000 interfaces (counts included); this and what follows is left out"),
        ])
    }

    @Test func filesAreBoundedWithTheirHostsCounts() {
        let files = (1 ... 60).map { "{ path: /srv/f\($0), content: x }" }.joined(separator: ", ")
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, count: 1000, interfaces: [{ network: lan }], files: [\(files)] }
          1️⃣b: { image: tiny, count: 1000, interfaces: [{ network: lan }], files: [\(files)] }
        """, [
            "1": ("too-many-files", "the topology makes more than 100000 files (counts included)"),
        ])
    }

    @Test func checksAreBounded() {
        let checks = String(repeating: "  - { from: a, to: a, port: 1, expect: open }\n", count: Language.checkLimit)
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        checks:
        \(checks)  - 1️⃣{ from: a, to: a, port: 2, expect: open }
        """, [
            "1": ("too-many-checks", "the topology makes more than 10000 checks (one an entry); this and what follows is left out"),
        ])
    }

    @Test func generatedUsersStayTheSameAndUnique() {
        var users = Set(["tsato", "tsato2"])
        let people = Personas.generate(5000, seed: 7, departments: ["Sales"], avoiding: &users)
        #expect(Set(people.map(\.user)).count == 5000)
        #expect(users.count == 5002)
        // The first few are what the search from suffix 2 always gave (goldens depend on it).
        var again = Set(["tsato", "tsato2"])
        #expect(Personas.generate(5000, seed: 7, departments: ["Sales"], avoiding: &again).map(\.user) == people.map(\.user))
        var fresh = Set<String>()
        let small = Personas.generate(3000, seed: 7, departments: [], avoiding: &fresh).map(\.user)
        var seen = Set<String>()
        for user in small {
            // Each name is its base or the base with the smallest suffix not yet given.
            let base = String(user.prefix { !$0.isNumber })
            if user != base {
                let suffix = Int(user.dropFirst(base.count))!
                #expect(seen.contains(base) && (2 ..< suffix).allSatisfy { seen.contains(base + String($0)) }, "\(user)")
            }
            seen.insert(user)
        }
    }
}
